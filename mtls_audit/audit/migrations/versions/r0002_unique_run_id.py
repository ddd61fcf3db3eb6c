"""A run id is recorded once: writers on several machines cannot record one run twice.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("runs_by_run_id", "runs", ["run_id"], unique=True)


def downgrade() -> None:
    op.drop_index("runs_by_run_id", "runs")
