"""Site consistency reports (dynamo.store.schema.consistency).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create consistency_runs and consistency_files."""
    op.create_table(
        "consistency_runs",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consistency_runs"),
    )
    op.create_index("ix_consistency_runs_site_id", "consistency_runs", ["site", "id"])
    op.create_table(
        "consistency_files",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("run_id", _BigId, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("lfn", sa.String(512), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("expected_size", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["consistency_runs.id"],
            name="fk_consistency_files_run_id_consistency_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_consistency_files"),
    )
    op.create_index("ix_consistency_files_run_id_kind", "consistency_files", ["run_id", "kind"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("consistency_files")
    op.drop_table("consistency_runs")
