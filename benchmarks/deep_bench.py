"""Benchmark of the inbound analysis on many ``<choose>`` blocks, in sequence and nested.

For each shape of :mod:`benchmarks.deep_policies` and size, in a fresh interpreter, prints the
wall and CPU time of judging the policy as a standalone file (parse, effective policy, inbound
analysis; imports excluded), the steps the analysis took (formula nodes built, table rows
evaluated; see ``mtls_audit.policy.expressions.logic.Budget``) and the verdict. The target
is 2 s for 200 sequential blocks and for 30-deep nesting. Usage: ``python benchmarks/deep_bench.py
[--sequential N ...] [--nested N ...]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.child import figures  # noqa: E402  (the repository root is on the path now)

RUNNER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks import deep_policies
from mtls_audit.policy.expressions.logic import metered
from mtls_audit.policy.standalone import judge_text

text = getattr(deep_policies, sys.argv[2])(int(sys.argv[3]))
wall, cpu = time.perf_counter(), time.process_time()
with metered() as budget:
    found = judge_text(text, "deep.xml")
print(json.dumps({
    "bytes": len(text), "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
    "steps": budget.spent, "status": found.status.name.lower(),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sequential", type=int, nargs="+", default=[20, 22, 24, 50, 100, 200])
    parser.add_argument("--nested", type=int, nargs="+", default=[10, 20, 30])
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    print(
        f"{'shape':>10} {'blocks':>6} {'bytes':>7} {'steps':>8} {'wall s':>7} {'CPU s':>6}  verdict"
    )
    for shape, sizes in (("sequential", args.sequential), ("nested", args.nested)):
        for size in sizes:
            row = figures(RUNNER, str(ROOT), shape, str(size))
            print(
                f"{shape:>10} {size:>6} {row['bytes']:>7} {row['steps']:>8} "
                f"{row['wall_s']:>7.2f} {row['cpu_s']:>6.2f}  {row['status']}"
            )


if __name__ == "__main__":
    main()
