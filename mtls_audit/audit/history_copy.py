"""Moving a run history to another database (an embedded SQLite history into the shared
PostgreSQL one): every run, oldest first, in one transaction of the destination.

Runs already there are left alone, so a copy cut short can be run again: an assessed run is
known by its run id, a run that failed before any assessment by its schedule, target and start.
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
            known_ids = set(db.scalars(select(runs.c.run_id).where(runs.c.run_id.is_not(None))))
            keys = (runs.c.schedule_id, runs.c.target, runs.c.started_at)
            failures = db.execute(select(*keys).where(runs.c.run_id.is_(None)))
            known_failures = {tuple(row) for row in failures}
            fresh = [
                r
                for r in records
                if r.run_id not in known_ids
                and (r.run_id is not None or (r.schedule_id, r.target, r.started_at))
                not in known_failures
            ]
            for record in fresh:
                target.insert(db, record)
        return Copied(copied=len(fresh), already=len(records) - len(fresh))
    finally:
        origin.close()
        target.close()
