"""Dealer history (dynamo.store.schema.dealer).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create dealer_cycles and dealer_copies."""
    op.create_table(
        "dealer_cycles",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("log_seq", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dealer_cycles"),
    )
    op.create_index("ix_dealer_cycles_partition_status", "dealer_cycles", ["partition", "status"])
    op.create_table(
        "dealer_copies",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("cycle_id", _BigId, nullable=False),
        sa.Column("plugin", sa.String(32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("block", sa.String(128), nullable=True),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("group", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["dealer_cycles.id"],
            name="fk_dealer_copies_cycle_id_dealer_cycles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_dealer_copies"),
    )
    op.create_index("ix_dealer_copies_cycle_id_status", "dealer_copies", ["cycle_id", "status"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("dealer_copies")
    op.drop_table("dealer_cycles")
