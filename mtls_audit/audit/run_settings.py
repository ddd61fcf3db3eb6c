"""How a run judges, whichever command starts it: ``scan`` and ``assess`` take these settings
from their options, ``schedule run`` from the schedule file for every target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mtls_audit.engine.results import Severity


@dataclass(frozen=True)
class RunSettings:
    """Threshold, rule selection and packs, the time judged at, expiry windows, and the audit
    inputs (waivers and a baseline, by path: read when the run is prepared)."""

    fail_on: Severity | None = Severity.CRITICAL
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    disabled_packs: tuple[str, ...] = ()
    as_of: datetime | None = None
    warning_days: int = 30
    notice_days: int = 60
    waivers: Path | None = None
    baseline: Path | None = None
