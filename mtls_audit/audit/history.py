"""The history of scheduled runs: one SQLite row per target and run, and the trend read from it.

The database (``<output root>/history.sqlite``) is plain SQL so that anyone can query it::

    SELECT target, started_at, exit_code, failed_critical, failed_high
    FROM runs ORDER BY seq DESC LIMIT 10;

``failed_<severity>`` count failing results, ``results_<status>`` count results by status (as in
the evidence's summary). ``evidence_path`` is relative to the folder holding the database.

SQLite keeps whatever type a row was given, so a row edited by hand (or by another tool) may
hold text where a count belongs; the trend leaves such a row out rather than let one bad row
break every later run of its target.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtls_audit.audit.files import AuditInputError

SEVERITIES = ("critical", "high", "medium", "low", "info")
STATUSES = ("pass", "fail", "indeterminate", "not_applicable", "waived")
HISTORY_NAME = "history.sqlite"
_COUNTS = [f"failed_{s}" for s in SEVERITIES] + [f"results_{s}" for s in STATUSES]
_COLUMNS = (
    "schedule_id",
    "target",
    "started_at",
    "finished_at",
    "exit_code",
    "run_id",
    *_COUNTS,
    "evidence_path",
    "evidence_sha256",
    "error",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id TEXT NOT NULL,
    target TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    run_id TEXT,
    {", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in _COUNTS)},
    evidence_path TEXT,
    evidence_sha256 TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target, seq);
"""


@dataclass(frozen=True)
class RunRecord:
    """One target's run: what the scheduler started, and what the assessment concluded."""

    schedule_id: str
    target: str
    started_at: str
    finished_at: str
    exit_code: int
    run_id: str | None = None
    by_severity: Mapping[str, int] = field(default_factory=dict)
    by_status: Mapping[str, int] = field(default_factory=dict)
    evidence_path: str | None = None
    evidence_sha256: str | None = None
    error: str | None = None

    def row(self) -> tuple[Any, ...]:
        counts = [self.by_severity.get(s, 0) for s in SEVERITIES]
        counts += [self.by_status.get(s, 0) for s in STATUSES]
        head = (
            self.schedule_id,
            self.target,
            self.started_at,
            self.finished_at,
            self.exit_code,
            self.run_id,
        )
        return (*head, *counts, self.evidence_path, self.evidence_sha256, self.error)


def trend_point(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """One point of the trend: a run's failing results by severity, results by status."""
    summary = evidence["summary"]
    return {
        "run_id": evidence["run"]["id"],
        "started_at": evidence["run"]["started_at"],
        "exit_code": summary["gate"]["exit_code"],
        "by_severity": {s: summary["by_severity"].get(s, 0) for s in SEVERITIES},
        "by_status": {s: summary["by_status"].get(s, 0) for s in STATUSES},
    }


class History:
    """The run history of one output root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_symlink():  # as with every output: never written through a link
            raise AuditInputError(
                "the run history is a symbolic link; it is never written through one",
                source=str(path),
            )
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
                yield db
        except sqlite3.Error as exc:
            raise AuditInputError(
                f"the run history cannot be used: {exc}", source=str(self.path)
            ) from None

    def record(self, run: RunRecord) -> None:
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._connect() as db:
            db.execute(f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({marks})", run.row())

    def runs(self, target: str | None = None) -> list[RunRecord]:
        """Every recorded run (of one target), oldest first."""
        where, args = ("WHERE target = ?", (target,)) if target else ("", ())
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs {where} ORDER BY seq", args
            ).fetchall()
        return [_record(row) for row in rows]

    def trend(self, target: str, limit: int) -> list[dict[str, Any]]:
        """Trend points of the target's last ``limit`` assessed runs, oldest first."""
        if limit <= 0:
            return []
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM runs WHERE target = ? AND run_id IS NOT NULL "
                "ORDER BY seq DESC LIMIT ?",
                (target, limit),
            ).fetchall()
        records = (_record(row) for row in reversed(rows))
        return [_point(record) for record in records if _well_typed(record)]


def _record(row: tuple[Any, ...]) -> RunRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    return RunRecord(
        schedule_id=values["schedule_id"],
        target=values["target"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        exit_code=values["exit_code"],
        run_id=values["run_id"],
        by_severity={s: values[f"failed_{s}"] for s in SEVERITIES},
        by_status={s: values[f"results_{s}"] for s in STATUSES},
        evidence_path=values["evidence_path"],
        evidence_sha256=values["evidence_sha256"],
        error=values["error"],
    )


def _well_typed(run: RunRecord) -> bool:
    """Whether a row read back has the types the trend needs (see the module's docstring)."""
    counts = [*run.by_severity.values(), *run.by_status.values(), run.exit_code]
    return (
        isinstance(run.run_id, str)
        and isinstance(run.started_at, str)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts)
    )


def _point(run: RunRecord) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "started_at": run.started_at,
        "exit_code": run.exit_code,
        "by_severity": dict(run.by_severity),
        "by_status": dict(run.by_status),
    }
