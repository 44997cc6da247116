"""File operations: subscriptions, batches, tasks, failures, history (dynamo.store.schema.fileops).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _BigId, autoincrement=True, nullable=False)


def _fk(column: str, table: str, owner: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=f"fk_{owner}_{column}_{table}", ondelete="CASCADE"
    )


def upgrade() -> None:
    """Create the fileop_* tables."""
    op.create_table(
        "fileop_subscriptions",
        _id(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("lfn", sa.String(512), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("block", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("adler32", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_reason", sa.String(16), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("origin_id", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fileop_subscriptions"),
    )
    op.create_index(
        "ix_fileop_subscriptions_lfn_site_kind",
        "fileop_subscriptions",
        ["lfn", "site", "kind"],
        unique=True,
    )
    op.create_index(
        "ix_fileop_subscriptions_status_site", "fileop_subscriptions", ["status", "site"]
    )
    op.create_index("ix_fileop_subscriptions_status_id", "fileop_subscriptions", ["status", "id"])
    op.create_index(
        "ix_fileop_subscriptions_dataset_block_site",
        "fileop_subscriptions",
        ["dataset", "block", "site"],
    )
    op.create_table(
        "fileop_batches",
        _id(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("source_site", sa.String(64), nullable=True),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("staging", sa.Integer(), nullable=False),
        sa.Column("stage_request", sa.String(256), nullable=True),
        sa.Column("external_id", sa.String(256), nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("heartbeat", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fileop_batches"),
    )
    op.create_index("ix_fileop_batches_backend_status", "fileop_batches", ["backend", "status"])
    op.create_table(
        "fileop_tasks",
        _id(),
        sa.Column("batch_id", _BigId, nullable=False),
        sa.Column("subscription_id", _BigId, nullable=False),
        sa.Column("source_site", sa.String(64), nullable=True),
        sa.Column("source_path", sa.String(1024), nullable=True),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        _fk("batch_id", "fileop_batches", "fileop_tasks"),
        _fk("subscription_id", "fileop_subscriptions", "fileop_tasks"),
        sa.PrimaryKeyConstraint("id", name="pk_fileop_tasks"),
    )
    op.create_index("ix_fileop_tasks_batch_id_status", "fileop_tasks", ["batch_id", "status"])
    op.create_index("ix_fileop_tasks_subscription_id", "fileop_tasks", ["subscription_id"])
    op.create_table(
        "fileop_failures",
        _id(),
        sa.Column("subscription_id", _BigId, nullable=False),
        sa.Column("source_site", sa.String(64), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        _fk("subscription_id", "fileop_subscriptions", "fileop_failures"),
        sa.PrimaryKeyConstraint("id", name="pk_fileop_failures"),
    )
    op.create_index("ix_fileop_failures_subscription_id", "fileop_failures", ["subscription_id"])
    op.create_table(
        "fileop_history",
        _id(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("lfn", sa.String(512), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("source_site", sa.String(64), nullable=True),
        sa.Column("backend", sa.String(32), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fileop_history"),
    )
    op.create_index("ix_fileop_history_kind_finished", "fileop_history", ["kind", "finished"])
    op.create_index("ix_fileop_history_site_kind", "fileop_history", ["site", "kind"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("fileop_history")
    op.drop_table("fileop_failures")
    op.drop_table("fileop_tasks")
    op.drop_table("fileop_batches")
    op.drop_table("fileop_subscriptions")
