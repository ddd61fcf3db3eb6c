"""Estate benchmark: 500 instances over 50 subscriptions against the local fake Azure (prints
figures; not a test).

The path measured is `mtls-audit estate scan`'s: one Resource Graph discovery, then every
instance collected, assessed (one rule: the assessment is not what is measured here) and written
as evidence.json into its own folder, `--workers` at a time, at most `--per-subscription` of one
subscription at once, all spending one ARM read budget per subscription. The fake emulates ARM's
read bucket (250, refilled 25/s per subscription: a 429 with Retry-After beyond it) and answers
each request after a fixed latency. Signed in with workload identity against the fake authority.

Figures printed:
- requests per instance (goal: equal to a single-instance scan's, i.e. the same for all);
- wall time vs the throttle bound, the time ARM's bucket needs for the busiest subscription's
  reads, max_s (reads_s - 250) / 25, or the latency bound when larger (goal <= 1.5x);
- memory: the process's resident set as instances complete (goal: flat, i.e. instances are
  streamed to disk, not held), against the evidence written.

Run from the repository root: ``python benchmarks/estate_bench.py [--instances 500
--subscriptions 50 --workers 16]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtls_audit import workflow
from mtls_audit.audit.estate import expand
from mtls_audit.audit.run_settings import RunSettings
from mtls_audit.audit.schedule import ScheduleConfig, Target, TargetRun, run_schedule
from mtls_audit.sources.azure.bounds import EndpointOverrides
from mtls_audit.sources.azure.discovery import EstateScope, discover_instances
from mtls_audit.sources.azure.source import AzureOptions
from tests.live.credentials import TOKEN, fake_jwt
from tests.live.estate import estate_instance, subscription_id
from tests.live.fake_azure import FakeAzure
from tests.live.instance import TENANT
from tests.live.tls_material import TlsFiles, make_tls

LATENCY_S, BURST, REFILL = 0.010, 250, 25.0


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _sign_in(url: str, folder: Path, ca: Path) -> None:
    """Workload identity as in a Kubernetes pod, against the fake as authority."""
    token = folder / "federated-token"
    token.write_text(fake_jwt({"sub": "system:serviceaccount:audit:mtls-audit"}))
    os.environ.update(
        AZURE_AUTHORITY_HOST=url,
        AZURE_TENANT_ID=TENANT,
        AZURE_CLIENT_ID="0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f",
        AZURE_FEDERATED_TOKEN_FILE=str(token),
        REQUESTS_CA_BUNDLE=str(ca),
        SSL_CERT_FILE=str(ca),
    )


def _serve(
    tls: TlsFiles, instances: int, apis: int, subscriptions: list[str], pipe: Connection
) -> None:
    """The fake Azure in a process of its own, so that its work is not counted as the tool's
    (nor slows it down through the interpreter lock)."""
    with FakeAzure(tls, TOKEN) as fake:
        fake.serve(
            *(
                estate_instance(
                    fake.url, subscriptions[n % len(subscriptions)], f"apim-{n:04d}", apis=apis
                )
                for n in range(instances)
            )
        )
        fake.latency_s = LATENCY_S
        fake.throttle = True
        pipe.send((fake.url, len(fake.resources())))
        pipe.recv()  # until told to stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--subscriptions", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--per-subscription", type=int, default=2)
    parser.add_argument("--apis", type=int, default=2, help="APIs per instance (2 operations each)")
    parser.add_argument(
        "--processes", type=int, default=1, help="local processes (estate scan --processes)"
    )
    args = parser.parse_args()
    subscriptions = [subscription_id(n + 1) for n in range(args.subscriptions)]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        tls = make_tls(root)
        ours, theirs = multiprocessing.Pipe()
        server = multiprocessing.get_context("fork").Process(
            target=_serve,
            args=(tls, args.instances, args.apis, subscriptions, theirs),
            daemon=True,
        )
        server.start()
        try:
            url, resources = ours.recv()
            _sign_in(url, root, tls.ca)
            print(
                f"estate: {args.instances} instances over {args.subscriptions} subscriptions, "
                f"{resources // args.instances} resources each; latency {LATENCY_S * 1000:.0f} "
                f"ms; ARM read bucket {BURST} + {REFILL:.0f}/s per subscription; workers "
                f"{args.workers} per process, {args.per_subscription} per subscription; "
                f"processes {args.processes}; cores {os.cpu_count()}"
            )
            assert server.pid is not None
            run(url, root, subscriptions, args, server.pid)
        finally:
            ours.send("stop")
            server.join(10)


def _cpu_of(pid: int) -> float:
    """CPU seconds (user and system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(
    url: str, root: Path, subscriptions: list[str], args: argparse.Namespace, server: int
) -> None:
    scope = EstateScope(subscriptions=tuple(subscriptions))
    plan = ScheduleConfig(
        source=root / "bench",
        output=root / "runs",
        formats=("json",),
        run=RunSettings(select=("MTLS-EVID-01",)),
        sign_key=None,
        trend_runs=1,
        workers=args.workers,
        cloud="AzureCloud",
        targets=(Target(name="estate", discover=scope, retries=6),),
        per_subscription=args.per_subscription,
        processes=args.processes,
    )
    graph = AzureOptions(subscriptions=(), auth="workload-identity", arm_endpoint=url)
    started = time.perf_counter()
    expanded = expand(plan, lambda s: discover_instances(s, graph))
    discovered = time.perf_counter() - started
    found = len(expanded.config.targets)
    print(f"discovery: {found} instances in {discovered:.2f} s")
    job = workflow.schedule_job(
        workflow.prepare_run(plan.run),
        plan.formats,
        auth="workload-identity",
        endpoints=EndpointOverrides(arm_endpoint=url),
        per_subscription=plan.per_subscription,
    )
    memory: list[tuple[int, float]] = []

    def done(_: TargetRun) -> None:
        memory.append((len(memory) + 1, _rss_mb()))

    cpu = time.process_time() + _cpu_of_children()  # the worker processes, once ended
    fake = _cpu_of(server)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    runs = run_schedule(expanded.config, job, on_done=done)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() + _cpu_of_children() - cpu
    fake = _cpu_of(server) - fake
    print(f"load average (1 min) before / after: {load:.1f} / {os.getloadavg()[0]:.1f}")
    report(runs, Timing(elapsed, cpu, fake), memory, args)


def _requests(run: TargetRun) -> list[dict[str, Any]]:
    """The requests of one instance's collection, from its snapshot's provenance."""
    snapshot = json.loads((run.folder / "snapshot.json").read_text(encoding="utf-8"))
    requests: list[dict[str, Any]] = snapshot["provenance"]["requests"]
    return requests


@dataclass(frozen=True)
class Timing:
    elapsed: float  # wall seconds of the scan (discovery excluded)
    cpu: float  # CPU seconds of the tool: this process and its worker processes
    fake: float  # CPU seconds of the fake Azure, which runs on the same cores


def bounds(
    timing: Timing, requests: int, busiest: tuple[int, int], args: argparse.Namespace
) -> dict[str, float]:
    """What no run of this estate on this machine can beat, each on its own:

    - throttle: ARM's bucket for the busiest subscription, max_s (reads_s - burst) / refill;
    - latency: every request waits LATENCY_S, with at most ``concurrency`` requests in flight
      (8 per collection: per process ``workers`` collections, per subscription
      ``per_subscription``); the requests that depend on earlier answers make the true figure
      larger, so this is a floor;
    - cpu: the tool's CPU spread over the cores one interpreter per process can use, and the
      tool's and the fake's together (they share this machine) over all cores.
    """
    reads, total_s = busiest
    cores = os.cpu_count() or 1
    in_flight = 8 * args.workers * args.processes
    return {
        "throttle": max(0.0, (reads - BURST) / REFILL),
        "latency": max(
            requests * LATENCY_S / in_flight,
            total_s * LATENCY_S / (8 * args.per_subscription),
        ),
        "cpu": max(timing.cpu / min(args.processes, cores), (timing.cpu + timing.fake) / cores),
    }


def report(
    runs: list[TargetRun],
    timing: Timing,
    memory: list[tuple[int, float]],
    args: argparse.Namespace,
) -> None:
    scanned = [r for r in runs if (r.folder / "snapshot.json").is_file()]
    per_instance: Counter[int] = Counter()
    reads: Counter[str] = Counter()
    requests_of: Counter[str] = Counter()
    throttled = 0
    written = 0
    durations: list[int] = []
    for run in scanned:
        requests = _requests(run)
        durations += [r["duration_ms"] for r in requests]
        answered = [r for r in requests if r["status"] != 429]
        per_instance[len(answered)] += 1
        throttled += len(requests) - len(answered)
        subscription = run.target.subscriptions[0]
        reads[subscription] += sum(1 for r in answered if r["url"].startswith("/subscriptions/"))
        requests_of[subscription] += len(requests)
        written += sum(p.stat().st_size for p in run.folder.iterdir())
    busiest = max(reads, key=lambda s: reads[s])
    limits = bounds(timing, sum(requests_of.values()), (reads[busiest], requests_of[busiest]), args)
    largest = max(limits, key=lambda k: limits[k])
    codes = Counter(r.record.exit_code for r in runs)
    print(f"runs: {len(runs)}, exit codes {dict(sorted(codes.items()))}")
    print(
        f"requests per instance (answered): {dict(per_instance)} (goal: one figure, that of a "
        f"single-instance scan); 429s retried: {throttled}"
    )
    print(f"ARM reads of the busiest subscription: {reads[busiest]}")
    durations.sort()
    print(
        f"request duration as the collector saw it: median {durations[len(durations) // 2]} ms,"
        f" 90th percentile {durations[len(durations) * 9 // 10]} ms"
    )
    print(
        f"wall time {timing.elapsed:.1f} s; CPU {timing.cpu:.1f} s "
        f"({timing.cpu / len(runs) * 1000:.0f} ms per instance), the fake's {timing.fake:.1f} s"
    )
    print(
        f"  bounds: throttle {limits['throttle']:.1f} s (max_s (reads_s - {BURST}) / "
        f"{REFILL:.0f}), latency {limits['latency']:.1f} s, CPU {limits['cpu']:.1f} s"
    )
    print(
        f"  ratio to the largest ({largest}): {timing.elapsed / limits[largest]:.2f}; "
        f"to the throttle bound: {timing.elapsed / max(limits['throttle'], 1e-9):.1f} "
        "(the issue's goal: <= 1.5)"
    )
    marks = [memory[max(0, int(len(memory) * f) - 1)] for f in (0.1, 0.5, 1.0)]
    shown = ", ".join(f"{n} done: {mb:.0f} MB" for n, mb in marks)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"resident memory of this process: {shown}; peak {peak:.0f} MB; written to disk "
        f"{written / 2**20:.0f} MB"
    )
    if args.processes > 1:  # the largest peak of the ended worker processes
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak resident memory of a worker process: {workers:.0f} MB")


if __name__ == "__main__":
    main()
