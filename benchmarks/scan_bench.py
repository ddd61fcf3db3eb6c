"""End-to-end benchmark of ``scan --from-file``, as a user runs it, beside Checkov.

For each size (operations of :func:`benchmarks.synthetic.make_instance`, with 1 API per 20
operations, 1 policy per 10 and 1 fragment per 400, at least 5), the instance's resources are
written to a JSON file (``{"value": [...]}``, an ARM resource listing) and the command runs in a
fresh process, ``python3 -m mtls_audit scan --from-file FILE --format json`` and again with
``--format json,sarif,junit,markdown``. Each run's wall time, CPU time and peak resident memory
(the child's own ``wait4`` usage) are taken; best and median wall of ``--runs`` runs are printed.

Checkov, when installed in a side environment, runs on the same resources converted to an ARM
deployment template, in the same run (``checkov -f FILE --framework arm``). To set it up,
outside the repository::

    python3 -m venv /work/checkov-venv && /work/checkov-venv/bin/pip install 'checkov==3.3.*'

and pass ``--checkov /work/checkov-venv/bin/checkov`` (that path is the default when it exists).

``--tree DIR`` runs another checkout of mtls-audit (e.g. ``git archive main | tar -x -C DIR``)
for a before/after comparison. ``--compare DIR`` checks that the evidence is byte-identical:
it collects one snapshot per size, assesses it with this checkout and with DIR under
``SOURCE_DATE_EPOCH`` (every format but the PDF), and compares the files byte for byte.

Usage::

    python benchmarks/scan_bench.py [--sizes 1000,5000,20000,40000] [--runs 3]
        [--formats json --formats json,sarif,junit,markdown] [--checkov PATH | --no-checkov]
        [--tree DIR] [--compare DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHECKOV = Path("/work/checkov-venv/bin/checkov")
ALL_FORMATS = "json,sarif,junit,markdown"
EPOCH = "1767225600"  # 2026-01-01T00:00:00Z, for reproducible evidence


def layout(operations: int) -> dict[str, int]:
    """The synthetic instance's counts for a number of operations (the default at 20,000)."""
    return {
        "apis": max(1, operations // 20),
        "operations": operations,
        "policies": max(10, operations // 10),
        "fragments": max(5, operations // 400),
    }


def arm_name(resource_id: str) -> str:
    """The ARM template name of a resource (``service/api/operation``) from its id."""
    parts = resource_id.strip("/").split("/")
    last = max(i for i, p in enumerate(parts) if p.lower() == "providers")
    return "/".join(parts[last + 3 :: 2])


def write_inputs(operations: int, folder: Path) -> None:
    """The resources as an ARM listing, and as a deployment template for Checkov."""
    from benchmarks.synthetic import make_instance

    resources = make_instance(**layout(operations))["resources"]
    (folder / "resources.json").write_text(json.dumps({"value": resources}), "utf-8")
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": r["type"],
                "apiVersion": "2024-05-01",
                "name": arm_name(r["id"]),
                **({"location": r["location"]} if "location" in r else {}),
                "properties": r.get("properties", {}),
            }
            for r in resources
        ],
    }
    (folder / "template.json").write_text(json.dumps(template), "utf-8")
    print(len(resources))


def run_once(command: Sequence[str], env: dict[str, str]) -> dict[str, float]:
    """One fresh process: wall and CPU seconds, peak resident MB (the child's own)."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        child = subprocess.Popen(
            command, stdout=null, stderr=subprocess.PIPE, env=env, cwd=tempfile.gettempdir()
        )
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: findings at or above --fail-on (Checkov, too)
        raise RuntimeError(f"{command[:4]} exited {child.returncode}: {err.decode()[-2000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
    }


def measure(command: Sequence[str], env: dict[str, str], runs: int) -> dict[str, float]:
    rows = [run_once(command, env) for _ in range(runs)]
    walls = [r["wall"] for r in rows]
    return {
        "best": min(walls),
        "median": statistics.median(walls),
        "cpu": min(r["cpu"] for r in rows),
        "rss": max(r["rss"] for r in rows),
    }


def environment(tree: Path, **extra: str) -> dict[str, str]:
    """The command's environment: ``tree`` importable, bytecode cached as once installed.

    Commands run in the temporary folder: ``python -m`` puts the working folder first on the
    import path, which would run this checkout whatever ``tree`` says."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)
    env.update(extra)
    return env


def scan_command(resources: Path, formats: str, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "mtls_audit", "scan", "--from-file", str(resources),
        "--format", formats, "--out", str(out), "--fail-on", "none",
    ]  # fmt: skip


def checkov_command(checkov: Path, template: Path) -> list[str]:
    return [
        str(checkov), "-f", str(template), "--framework", "arm", "--quiet", "--compact",
        "-o", "json", "--skip-download",
    ]  # fmt: skip


def compare(size: int, inputs: Path, work: Path, other: Path) -> list[str]:
    """Files that differ between this checkout's and ``other``'s assessment of one snapshot."""
    env = environment(other, SOURCE_DATE_EPOCH=EPOCH)
    collected = work / "collected"
    subprocess.run(
        [sys.executable, "-m", "mtls_audit", "collect", "--from-file", str(inputs),
         "--out", str(collected)],
        check=True, env=env, capture_output=True, cwd=work,
    )  # fmt: skip
    outs = {}
    for name, tree in (("before", other), ("after", ROOT)):
        outs[name] = work / name
        subprocess.run(
            [sys.executable, "-m", "mtls_audit", "assess", str(collected / "snapshot.json"),
             "--format", f"{ALL_FORMATS},html", "--out", str(outs[name]), "--fail-on", "none"],
            check=True, env=environment(tree, SOURCE_DATE_EPOCH=EPOCH), capture_output=True,
            cwd=work,
        )  # fmt: skip
    names = sorted(p.name for p in outs["before"].iterdir())
    if names != sorted(p.name for p in outs["after"].iterdir()):
        return ["(the files written differ)"]
    return [n for n in names if not filecmp.cmp(outs["before"] / n, outs["after"] / n, False)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,20000,40000", help="operations, by commas")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", action="append", help=f"default: json and {ALL_FORMATS}")
    parser.add_argument("--checkov", type=Path, default=CHECKOV if CHECKOV.exists() else None)
    parser.add_argument("--no-checkov", action="store_true")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to run")
    parser.add_argument("--compare", type=Path, help="check evidence against this checkout")
    parser.add_argument(
        "--write-inputs", nargs=2, metavar=("OPERATIONS", "DIR"), help=argparse.SUPPRESS
    )
    ns = parser.parse_args(argv)
    if ns.write_inputs:
        sys.path.insert(0, str(ROOT))
        write_inputs(int(ns.write_inputs[0]), Path(ns.write_inputs[1]))
        return 0
    formats = ns.formats or ["json", ALL_FORMATS]
    checkov = None if ns.no_checkov else ns.checkov
    env = environment(ns.tree)
    load = os.getloadavg()
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} cores; load at start "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; tree {ns.tree}; runs {ns.runs}")  # fmt: skip
    failed = False
    for size in (int(s) for s in ns.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
            work = Path(tmp)
            # Written by a child process: this one stays small, so that the peak memory each
            # child reports is its own (Linux carries a parent's into the child it starts).
            count = subprocess.run(
                [sys.executable, __file__, "--write-inputs", str(size), tmp],
                check=True, capture_output=True, text=True,
            ).stdout.strip()  # fmt: skip
            inputs = work / "resources.json"
            mib = inputs.stat().st_size / 2**20
            print(f"\n{size:,} operations ({int(count):,} resources, {mib:.1f} MiB)")
            rows: dict[str, dict[str, float]] = {}
            for fmt in formats:
                command = scan_command(inputs, fmt, work / "out")
                rows[f"mtls-audit --format {fmt}"] = measure(command, env, ns.runs)
            if checkov is not None:
                command = checkov_command(checkov, work / "template.json")
                rows["checkov --framework arm"] = measure(command, dict(os.environ), ns.runs)
            print(f"  {'run':48} {'best s':>7} {'median s':>8} {'CPU s':>6} {'peak MB':>8}")
            for name, row in rows.items():
                print(f"  {name:48} {row['best']:7.2f} {row['median']:8.2f} "
                      f"{row['cpu']:6.2f} {row['rss']:8.0f}")  # fmt: skip
            _ratios(rows)
            if ns.compare:
                differ = compare(size, inputs, work, ns.compare)
                failed |= bool(differ)
                print(f"  evidence vs {ns.compare}: " + (f"DIFFER {differ}" if differ else
                      "byte-identical (every format but the PDF)"))  # fmt: skip
    load = os.getloadavg()
    print(f"\nload at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 1 if failed else 0


def _ratios(rows: dict[str, dict[str, Any]]) -> None:
    json_only = rows.get("mtls-audit --format json")
    if json_only is None:
        return
    every = rows.get(f"mtls-audit --format {ALL_FORMATS}")
    if every is not None:
        print(f"  all formats / JSON only: {every['best'] / json_only['best']:.2f}x wall")
    checkov = rows.get("checkov --framework arm")
    if checkov is not None:
        print(
            f"  Checkov / mtls-audit (JSON): {checkov['best'] / json_only['best']:.1f}x wall, "
            f"{checkov['rss'] / json_only['rss']:.1f}x peak memory"
        )


if __name__ == "__main__":
    raise SystemExit(main())
