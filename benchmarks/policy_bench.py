"""Benchmark of effective policies: the inbound section of every (API, operation, product path).

For the synthetic instance of :func:`benchmarks.synthetic.make_instance` (defaults: 1,000 APIs,
20,000 operations, 2,000 policies, 50 fragments) and for one twice as large, each in a fresh
interpreter, prints the wall time of the effective-policy work (model building excluded), peak
and resident memory, parser calls against distinct policy texts, and distinct effective
policies. Usage: ``python benchmarks/policy_bench.py [--scale N ...]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.child import figures  # noqa: E402  (the repository root is on the path now)

RUNNER = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.synthetic import make_instance
from mtls_audit.model import build_model
from mtls_audit.policy.effective.policies import EffectivePolicies

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

scale = int(sys.argv[2])
document = make_instance(apis=1000 * scale, operations=20000 * scale, policies=2000 * scale,
                         fragments=50 * scale)
model = build_model(document)
service = model.services[0]
del document
before = rss_mb()
start = time.perf_counter()
policies = EffectivePolicies.for_service(service)
paths = elements = 0
keys = set()
for path, effective in policies.paths():
    paths += 1
    elements += len(effective.inbound.elements)
    keys.add(effective.key)
wall = time.perf_counter() - start
texts = {(p.text, p.format == "rawxml") for p in (*service.policies, *service.fragments)}
print(json.dumps({
    "scale": scale, "wall_s": wall, "paths": paths, "operations": len(service.operations),
    "policies": len(service.policies), "fragments": len(service.fragments),
    "parses": policies.parses.count, "distinct_texts": len(texts),
    "computations": policies.computations, "distinct_effective": len(keys),
    "rss_before_mb": before, "rss_after_mb": rss_mb(),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "inbound_elements": elements,
}))
"""


def measure(scale: int) -> dict[str, float]:
    return figures(RUNNER, str(ROOT), str(scale))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 2])
    scales = parser.parse_args().scale
    rows = [measure(scale) for scale in scales]
    print(f"python {sys.version.split()[0]}")
    header = (
        f"{'scale':>5} {'operations':>10} {'paths':>7} {'policies':>8} {'parses':>6} "
        f"{'texts':>6} {'merged':>6} {'distinct':>8} {'wall s':>7} {'RSS +MB':>8} {'peak MB':>8}"
    )
    print(header)
    for row in rows:
        grown = row["rss_after_mb"] - row["rss_before_mb"]
        print(
            f"{row['scale']:>5} {row['operations']:>10} {row['paths']:>7} {row['policies']:>8} "
            f"{row['parses']:>6} {row['distinct_texts']:>6} {row['computations']:>6} "
            f"{row['distinct_effective']:>8} {row['wall_s']:>7.2f} {grown:>8.1f} "
            f"{row['peak_rss_mb']:>8.0f}"
        )
    if len(rows) > 1:
        ratio = rows[-1]["wall_s"] / rows[0]["wall_s"]
        print(f"time ratio scale {rows[-1]['scale']} / scale {rows[0]['scale']}: {ratio:.2f}")
    print(
        "parses: parser calls; texts: distinct (text, format) of all policies and fragments; "
        "merged: Effective objects built; distinct: distinct Effective keys over all paths; "
        "RSS +MB: resident memory grown by the effective-policy work; peak MB: whole process "
        "(snapshot generation and model included)."
    )


if __name__ == "__main__":
    main()
