"""The history's tables, as SQLAlchemy declares them: the one schema of SQLite and PostgreSQL.

The migrations (``migrations/versions``) create exactly this; a test checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, Table, Text

from mtls_audit.vocabulary import SEVERITIES, STATUSES

COUNTS = [f"failed_{s}" for s in SEVERITIES] + [f"results_{s}" for s in STATUSES]

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("schedule_id", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text, nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("run_id", Text),
    *(Column(name, Integer, nullable=False, server_default="0") for name in COUNTS),
    Column("evidence_path", Text),
    Column("evidence_sha256", Text),
    Column("error", Text),
    Index("runs_by_target", "target", "seq"),
    Index("runs_by_run_id", "run_id", "target", unique=True),
    sqlite_autoincrement=True,
)
