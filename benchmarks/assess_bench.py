"""Benchmark of the command line: start-up, the sample, and a synthetic large instance.

Prints wall time and peak memory (max RSS) of each run; each run is a fresh interpreter.
Usage: ``python benchmarks/assess_bench.py [--apis N --operations N --policies N
--fragments N] [--format json]``. Figures are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Runs as an installed command runs: with its compiled bytecode cached, whatever this shell says.
INSTALLED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
RUNNER = (
    "import json, resource, sys, time\n"
    "from mtls_audit.cli import main\n"
    "start = time.perf_counter()\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "wall = time.perf_counter() - start\n"
    "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
    "print('BENCH', json.dumps({'wall_s': wall, 'max_rss_mb': rss, 'exit': code}),"
    " file=sys.stderr)\n"
)


def measure(args: list[str], repeat: int = 3) -> dict[str, float]:
    """Best wall time of ``repeat`` runs (process start included) and their peak memory."""
    walls: list[float] = []
    rss: list[float] = []
    for _ in range(repeat):
        import time

        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", RUNNER, *args],
            capture_output=True,
            text=True,
            check=False,
            env=INSTALLED_ENV,
        )
        walls.append(time.perf_counter() - start)
        line = next(x for x in done.stderr.splitlines() if x.startswith("BENCH "))
        rss.append(json.loads(line[6:])["max_rss_mb"])
    return {"wall_s": min(walls), "median_s": statistics.median(walls), "max_rss_mb": max(rss)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apis", type=int, default=1000)
    parser.add_argument("--operations", type=int, default=20000)
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--fragments", type=int, default=50)
    parser.add_argument("--format", default="json")
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        large = out / "large.json"
        # Generated in a child process: Linux carries a parent's peak RSS into its children,
        # so this process stays small for the measurements to be the commands' own.
        subprocess.run(
            [sys.executable, str(HERE / "synthetic.py"), str(large), "--apis", str(ns.apis),
             "--operations", str(ns.operations), "--policies", str(ns.policies),
             "--fragments", str(ns.fragments)],
            check=True,
        )  # fmt: skip
        rows = {
            "--version": measure(["--version"], ns.repeat),
            "scan --sample": measure(
                [
                    "scan",
                    "--sample",
                    "--format",
                    ns.format,
                    "--out",
                    str(out / "s"),
                    "--fail-on",
                    "none",
                ],
                ns.repeat,
            ),
            f"assess large ({ns.apis} APIs, {ns.operations} operations, {ns.policies} "
            f"policies)": measure(
                [
                    "assess",
                    str(large),
                    "--format",
                    ns.format,
                    "--out",
                    str(out / "l"),
                    "--fail-on",
                    "none",
                ],
                ns.repeat,
            ),
        }
        size = large.stat().st_size / 2**20
    print(f"python {sys.version.split()[0]}; large snapshot {size:.1f} MiB; format {ns.format}")
    print(f"{'run':70} {'best s':>8} {'median s':>9} {'peak MB':>8}")
    for name, row in rows.items():
        print(f"{name:70} {row['wall_s']:8.3f} {row['median_s']:9.3f} {row['max_rss_mb']:8.0f}")


if __name__ == "__main__":
    main()
