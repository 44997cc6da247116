"""Inventory servers and the leader lease (dynamo.store.schema.servers).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create servers and leadership."""
    op.create_table(
        "servers",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("log_seq", sa.BigInteger(), nullable=False),
        sa.Column("log_head", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_servers"),
    )
    op.create_table(
        "leadership",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("server", sa.String(128), nullable=True),
        sa.Column("url", sa.String(512), nullable=True),
        sa.Column("db_session", sa.BigInteger(), nullable=True),
        sa.Column("heartbeat", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_leadership"),
    )


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("leadership")
    op.drop_table("servers")
