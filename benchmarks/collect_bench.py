"""Live-collection benchmark against the local fake Azure (prints figures; not a test).

The instance: 200 APIs x 10 operations, 1 global policy, 2 products (1 with a policy), 60 % of the
APIs and 10 % of the operations with a policy of their own, a workspace policy; 30 ms injected
latency per request; ARM's read bucket (250, refilled 25/s per subscription) emulated by the fake,
which answers 429 when it is exceeded.

Figures printed:
- requests made vs the minimum the data needs (goal <= 1.1x);
- vs a per-scope strategy that GETs the policy of every scope (goal >= 5x fewer);
- wall time vs max(requests x latency / concurrency, requests / 25 per s) (goal <= 1.5x).

Run from the repository root: ``python3 benchmarks/collect_bench.py [--run-per-scope]``
(``--run-per-scope`` also collects with ``allPolicies`` unavailable, which takes minutes).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtls_audit.sources.azure.source import AzureOptions, collect_azure
from tests.live.credentials import TOKEN, FakeCredential
from tests.live.fake_azure import FakeAzure
from tests.live.instance import SUBSCRIPTION, Instance, build_instance
from tests.live.tls_material import make_tls

APIS, OPERATIONS, LATENCY_S, PAGE_SIZE, CONCURRENCY = 200, 10, 0.030, 100, 8
_SCOPE_TYPES = {
    f"Microsoft.ApiManagement/service{kind}"
    for kind in ("", "/apis", "/apis/operations", "/products", "/workspaces")
}
_NOT_LISTED_UNDER_APIM = ("Microsoft.KeyVault/", "Microsoft.Authorization/")


def _kind(resource: dict[str, Any]) -> str:
    return str(resource["type"]).rsplit("/", 1)[1]


def _pages(count: int) -> int:
    return max(1, math.ceil(count / PAGE_SIZE))


def policy_reads(instance: Instance, *, per_scope: bool) -> int:
    """GETs for policies: allPolicies pages + one per policy, or one per scope."""
    if per_scope:
        return sum(1 for r in instance.resources if r["type"] in _SCOPE_TYPES)
    policies = sum(1 for r in instance.resources if r["type"].endswith("/policies"))
    return _pages(policies) + policies


def expected_requests(instance: Instance, *, per_scope: bool) -> int:
    """Requests the data needs: every listing page, the policy reads, the Key Vault reads."""
    apim = [r for r in instance.resources if not r["type"].startswith(_NOT_LISTED_UNDER_APIM)]
    collections = Counter(
        str(r["id"]).rsplit("/", 1)[0].lower()
        for r in apim
        if _kind(r) not in ("service", "policies")
    )
    listings = 1 + sum(_pages(n) for n in collections.values())  # 1: the services listing
    # vaults, role assignments, the custom role; Key Vault's challenge, then each certificate
    key_vault = 3 + 1 + len(instance.certificates)
    return listings + policy_reads(instance, per_scope=per_scope) + key_vault


def run(fake: FakeAzure, ca: Path) -> tuple[int, float, Counter[int]]:
    options = AzureOptions(
        subscriptions=(SUBSCRIPTION,),
        arm_endpoint=fake.url,
        connection_verify=str(ca),
        concurrency=CONCURRENCY,
    )
    fake.requests.clear()
    started = time.perf_counter()
    parts = collect_azure(options, credential=FakeCredential(TOKEN))
    elapsed = time.perf_counter() - started
    assert not parts["gaps"], parts["gaps"]
    statuses = Counter(entry["status"] for entry in parts["provenance"]["requests"])
    return len(fake.requests), elapsed, statuses


def report(label: str, made: int, elapsed: float, statuses: Counter[int], minimum: int) -> None:
    latency_bound = made * LATENCY_S / CONCURRENCY
    bound = max(latency_bound, made / 25.0)
    burst_bound = max(latency_bound, (made - 250) / 25.0)
    print(f"{label}:")
    print(f"  requests made        {made:6d}   (statuses {dict(sorted(statuses.items()))})")
    print(f"  minimum for the data {minimum:6d}   ratio {made / minimum:.3f}  (goal <= 1.1)")
    print(f"  wall time            {elapsed:8.2f} s")
    print(
        f"    vs max(n x latency / concurrency, n / 25 per s) = {bound:.2f} s: ratio "
        f"{elapsed / bound:.2f} (goal <= 1.5)"
    )
    print(
        f"    vs the same after ARM's 250-read burst = {burst_bound:.2f} s: ratio "
        f"{elapsed / burst_bound:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-per-scope", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tls = make_tls(Path(folder))
        with FakeAzure(tls, TOKEN, page_size=PAGE_SIZE) as fake:
            instance = build_instance(fake.url, apis=APIS, operations=OPERATIONS)
            fake.serve(instance)
            fake.latency_s = LATENCY_S
            fake.throttle = True
            kinds = Counter(r["type"].split("/service/", 1)[-1] for r in instance.resources)
            print(
                f"instance: {kinds['apis']} APIs, {kinds['apis/operations']} operations, "
                f"{sum(n for kind, n in kinds.items() if kind.endswith('policies'))} policies, "
                f"{len(instance.resources)} resources; latency {LATENCY_S * 1000:.0f} ms, "
                f"concurrency {CONCURRENCY}"
            )
            minimum = expected_requests(instance, per_scope=False)
            per_scope = expected_requests(instance, per_scope=True)
            made, elapsed, statuses = run(fake, tls.ca)
            report("allPolicies strategy (the collector)", made, elapsed, statuses, minimum)
            scoped, indexed = (policy_reads(instance, per_scope=flag) for flag in (True, False))
            print(
                f"per-scope strategy: {per_scope} requests ({per_scope / made:.2f}x more); "
                f"policy reads alone {scoped} vs {indexed} ({scoped / indexed:.2f}x more)"
            )
            if args.run_per_scope:
                fake.all_policies = False
                fake.reset_read_budget()  # a fresh budget, as after a pause between scans
                made, elapsed, statuses = run(fake, tls.ca)
                report("per-scope fallback (measured)", made, elapsed, statuses, per_scope)


if __name__ == "__main__":
    main()
