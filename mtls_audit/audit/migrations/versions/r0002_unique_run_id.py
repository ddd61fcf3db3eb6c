"""A target's run is recorded once: writers on several machines cannot record it twice.

(Per target: with ``SOURCE_DATE_EPOCH`` every target of a schedule has the one run id.)

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
    op.create_index("runs_by_run_id", "runs", ["run_id", "target"], unique=True)


def downgrade() -> None:
    op.drop_index("runs_by_run_id", "runs")
