"""Moving a run history to another database (an embedded SQLite history into the shared
PostgreSQL one): every run, oldest first, in one transaction of the destination.

Runs already there are left alone, so a copy cut short can be run again: an assessed run is
known by its target and run id, a run that failed before any assessment by its schedule,
target and start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from mtls_audit.audit.history import History
from mtls_audit.audit.history_schema import runs


@dataclass(frozen=True)
class Copied:
    copied: int
    already: int


def copy_history(source: str | Path, destination: str | Path) -> Copied:
    """Copy every run of ``source`` into ``destination`` (both migrated to the latest schema)."""
    origin = History(source)
    target = History(destination)
    try:
        records = origin.runs()
        with target.transaction() as db:
            columns = (runs.c.schedule_id, runs.c.target, runs.c.started_at, runs.c.run_id)
            known = {_identity(*row) for row in db.execute(select(*columns))}
            fresh = [
                r for r in records if _identity(r.schedule_id, r.target, r.started_at, r.run_id)
                not in known
            ]  # fmt: skip
            for record in fresh:
                target.insert(db, record)
        return Copied(copied=len(fresh), already=len(records) - len(fresh))
    finally:
        origin.close()
        target.close()


def _identity(
    schedule_id: str, target: str, started_at: str, run_id: str | None
) -> tuple[str, ...]:
    """What makes a run the same run in two histories."""
    return (target, run_id) if run_id is not None else (schedule_id, target, started_at)
