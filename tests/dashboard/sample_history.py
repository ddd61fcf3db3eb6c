"""A small run history made by real scheduled runs of the bundled sample: three days of two
schedules sharing one output root (the second adopts more rules each day, so its trend
moves), and a target whose input is missing. Used by the tests and by
``scripts/sample-dashboard.py`` (the screenshots in ``sample_reports/dashboard``)."""

from __future__ import annotations

import os
from pathlib import Path

from mtls_audit.cli import main

SCHEDULES = (
    "output: runs\nformats: [json, html, markdown]\ntargets:\n"
    "  - name: clinical\n    sample: true\n  - name: broken\n    from_file: [missing.json]\n",
    "output: runs\nformats: [json, html, markdown]\nignore: [{ignore}]\ntargets:\n"
    "  - name: ci\n    sample: true\n",
)
DAYS = (("1794560400", "MTLS-IN, MTLS-KV"), ("1794906000", "MTLS-IN"), ("1795165200", ""))


def build_sample_history(root: Path) -> Path:
    """Run the schedules into ``root/runs``; returns that output root."""
    config = root / "schedule.yaml"
    before = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        for epoch, ignore in DAYS:
            os.environ["SOURCE_DATE_EPOCH"] = epoch
            for text in SCHEDULES:
                config.write_text(text.format(ignore=ignore), encoding="utf-8")
                try:
                    main(["schedule", "run", str(config)])
                except SystemExit as stop:
                    # Critical findings (1); the broken target's input error (2) is the larger.
                    expected = 2 if "broken" in text else 1
                    if stop.code != expected:
                        raise RuntimeError(f"schedule run exited {stop.code}") from None
    finally:
        if before is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before
    return root / "runs"
