"""Copy and deletion requests and replica locks (dynamo.store.schema.registry).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ITEM = 640


def _parent(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["request_id"], ["requests.id"], name=f"fk_{table}_request_id_requests", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the tables of dynamo.store.schema.registry."""
    op.create_table(
        "requests",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("dn", sa.String(512), nullable=False),
        sa.Column("group_name", sa.String(64), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("first_request", sa.BigInteger(), nullable=False),
        sa.Column("last_request", sa.BigInteger(), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
    )
    op.create_index("ix_requests_user_name_status", "requests", ["user_name", "status"])
    op.create_index("ix_requests_status", "requests", ["status"])
    op.create_table(
        "request_items",
        sa.Column("request_id", _BigId, nullable=False),
        sa.Column("item", sa.String(_ITEM), nullable=False),
        _parent("request_items"),
        sa.PrimaryKeyConstraint("request_id", "item", name="pk_request_items"),
    )
    op.create_index("ix_request_items_item", "request_items", ["item"])
    op.create_table(
        "request_sites",
        sa.Column("request_id", _BigId, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        _parent("request_sites"),
        sa.PrimaryKeyConstraint("request_id", "site", name="pk_request_sites"),
    )
    op.create_index("ix_request_sites_site", "request_sites", ["site"])
    op.create_table(
        "request_actions",
        sa.Column("request_id", _BigId, nullable=False),
        sa.Column("item", sa.String(_ITEM), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_update", sa.BigInteger(), nullable=False),
        _parent("request_actions"),
        sa.PrimaryKeyConstraint("request_id", "item", "site", name="pk_request_actions"),
    )
    op.create_table(
        "replica_locks",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("item", sa.String(_ITEM), nullable=False),
        sa.Column("sites", sa.String(_ITEM), nullable=True),
        sa.Column("groups", sa.String(_ITEM), nullable=True),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("dn", sa.String(512), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("released", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_replica_locks"),
    )
    op.create_index("ix_replica_locks_dn_service", "replica_locks", ["dn", "service"])
    op.create_index("ix_replica_locks_expires", "replica_locks", ["expires"])


def downgrade() -> None:
    """Drop the tables of dynamo.store.schema.registry."""
    for table in ("replica_locks", "request_actions", "request_sites", "request_items", "requests"):
        op.drop_table(table)
