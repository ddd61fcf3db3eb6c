"""Run a benchmark's measuring code in a fresh interpreter and read back its figures.

Each measurement gets a process of its own, so imports, caches and peak memory are its own.
"""

from __future__ import annotations

import json
import subprocess
import sys


def figures(code: str, *args: str) -> dict[str, float]:
    """Run ``python -c code args…``; the last line it prints is a JSON object of figures."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found
