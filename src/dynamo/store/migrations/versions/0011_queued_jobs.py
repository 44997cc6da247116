"""The job-queue demand a source sync brings in (dynamo.store.schema.dealer.queued_jobs).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create queued_jobs."""
    op.create_table(
        "queued_jobs",
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("queued", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("jobs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dataset", "queued", name="pk_queued_jobs"),
    )


def downgrade() -> None:
    """Drop the table of this revision."""
    op.drop_table("queued_jobs")
