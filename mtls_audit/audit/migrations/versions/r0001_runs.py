"""The runs table, as the history held it before migrations (one row per target and run).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from mtls_audit.audit.history_schema import COUNTS

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("finished_at", sa.Text, nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("run_id", sa.Text),
        *(sa.Column(n, sa.Integer, nullable=False, server_default="0") for n in COUNTS),
        sa.Column("evidence_path", sa.Text),
        sa.Column("evidence_sha256", sa.Text),
        sa.Column("error", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_index("runs_by_target", "runs", ["target", "seq"])


def downgrade() -> None:
    op.drop_table("runs")
