"""Benchmark of the policy rules: parse, effective policies, inbound analysis and every rule.

For the synthetic instance of :func:`benchmarks.synthetic.make_instance` (defaults: 1,000 APIs,
20,000 operations, 2,000 policies, 50 fragments) and for one twice as large, each in a fresh
interpreter, prints the wall time of running ALL built-in rules on a freshly built model (policy
parsing, effective policies, the inbound certificate analysis and the coverage table included;
snapshot generation and model building excluded), the time of the coverage table alone, peak
memory, and the distinct effective policies and analyses; the best of ``--runs`` runs per scale,
the scales alternated (the rules are judged in two processes, whose wall time moves with the
host's speed: alternating lets a drift touch every scale alike).
Targets: under 10 s and 1 GB at scale 1, and at most 2.2 times the time at scale 2.
Usage: ``python benchmarks/rules_bench.py [--scale N ...] [--runs N]``.
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
from mtls_audit.engine.packs import builtin_pack_dir, load_directory
from mtls_audit.engine.rule import Context, Options
from mtls_audit.engine.runner import run
from mtls_audit.model import build_model
from mtls_audit.analysis.coverage import coverage_rows

scale = int(sys.argv[2])
document = make_instance(apis=1000 * scale, operations=20000 * scale, policies=2000 * scale,
                         fragments=50 * scale)
model = build_model(document)
del document
rules = load_directory(builtin_pack_dir(), "builtin").rules
start = time.perf_counter()
ctx = Context(model, Options())
result = run(ctx, rules)
rules_s = time.perf_counter() - start
start = time.perf_counter()
rows = coverage_rows(ctx)
coverage_s = time.perf_counter() - start
analysers = ctx.memo.analysers
print(json.dumps({
    "scale": scale, "rules_s": rules_s, "coverage_s": coverage_s, "rules": len(rules),
    "results": len(result.findings), "errors": len(result.errors),
    "operations": len(model.services[0].operations), "coverage_rows": len(rows),
    "verdicts": sum(a.verdicts for a in analysers.values()),
    "analyses": sum(a.analyses for a in analysers.values()),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def measure(scale: int) -> dict[str, float]:
    return figures(RUNNER, str(ROOT), str(scale))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    ns = parser.parse_args()
    runs = [[measure(scale) for scale in ns.scale] for _ in range(ns.runs)]  # scales alternated
    rows = [min(column, key=lambda row: row["rules_s"]) for column in zip(*runs, strict=True)]
    print(f"python {sys.version.split()[0]}")
    print(
        f"{'scale':>5} {'operations':>10} {'rules':>5} {'results':>8} {'errors':>6} "
        f"{'verdicts':>8} {'analyses':>8} {'rules s':>8} {'cover s':>8} {'peak MB':>8}"
    )
    for row in rows:
        print(
            f"{row['scale']:>5} {row['operations']:>10} {row['rules']:>5} {row['results']:>8} "
            f"{row['errors']:>6} {row['verdicts']:>8} {row['analyses']:>8} "
            f"{row['rules_s']:>8.2f} {row['coverage_s']:>8.2f} {row['peak_rss_mb']:>8.0f}"
        )
    if len(rows) > 1:
        ratio = rows[-1]["rules_s"] / rows[0]["rules_s"]
        print(f"time ratio scale {rows[-1]['scale']} / scale {rows[0]['scale']}: {ratio:.2f}")
    print(
        "rules s: every built-in rule on a fresh model (parsing, effective policies and the "
        "inbound analysis happen here; in two processes, the coverage table too); cover s: the "
        "evidence coverage table afterwards (memoised); verdicts: distinct effective inbound "
        "policies judged; analyses: "
        "distinct element arrangements analysed; peak MB: whole process (snapshot generation "
        "and model included)."
    )


if __name__ == "__main__":
    main()
