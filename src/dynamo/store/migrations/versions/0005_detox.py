"""Detox history, the deletion queue and popularity access records (dynamo.store.schema.detox).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the detox_*, replica_deletions and popularity_accesses tables."""
    op.create_table(
        "detox_cycles",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("partition", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=False),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("policy_file", sa.String(1024), nullable=True),
        sa.Column("policy_text", sa.Text(), nullable=False),
        sa.Column("policy_hash", sa.String(64), nullable=False),
        sa.Column("policy_error", sa.Text(), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("log_seq", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_detox_cycles"),
    )
    op.create_index("ix_detox_cycles_partition_status", "detox_cycles", ["partition", "status"])
    op.create_table(
        "detox_cycle_lines",
        sa.Column("cycle_id", _BigId, nullable=False),
        sa.Column("line_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["detox_cycles.id"],
            name="fk_detox_cycle_lines_cycle_id_detox_cycles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cycle_id", "line_id", name="pk_detox_cycle_lines"),
    )
    op.create_table(
        "detox_cycle_sites",
        sa.Column("cycle_id", _BigId, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=False),
        sa.Column("occupancy_before", sa.Double(), nullable=True),
        sa.Column("occupancy_after", sa.Double(), nullable=True),
        sa.Column("triggered", sa.Boolean(), nullable=False),
        sa.Column("protected_bytes", sa.BigInteger(), nullable=False),
        sa.Column("kept_bytes", sa.BigInteger(), nullable=False),
        sa.Column("deleted_bytes", sa.BigInteger(), nullable=False),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["detox_cycles.id"],
            name="fk_detox_cycle_sites_cycle_id_detox_cycles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cycle_id", "site", name="pk_detox_cycle_sites"),
    )
    op.create_table(
        "detox_decisions",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("cycle_id", _BigId, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("num_blocks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["detox_cycles.id"],
            name="fk_detox_decisions_cycle_id_detox_cycles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_detox_decisions"),
    )
    op.create_index("ix_detox_decisions_cycle_id_site", "detox_decisions", ["cycle_id", "site"])
    op.create_index(
        "ix_detox_decisions_cycle_id_dataset", "detox_decisions", ["cycle_id", "dataset"]
    )
    op.create_table(
        "replica_deletions",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("cycle_id", _BigId, nullable=True),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("block", sa.String(128), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["detox_cycles.id"],
            name="fk_replica_deletions_cycle_id_detox_cycles",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_replica_deletions"),
    )
    op.create_index("ix_replica_deletions_status_site", "replica_deletions", ["status", "site"])
    op.create_index("ix_replica_deletions_cycle_id", "replica_deletions", ["cycle_id"])
    op.create_table(
        "popularity_accesses",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("num_accesses", sa.BigInteger(), nullable=False),
        sa.Column("cpu_hours", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_popularity_accesses"),
        sa.UniqueConstraint(
            "dataset", "site", "day", name="uq_popularity_accesses_dataset_site_day"
        ),
    )
    op.create_index("ix_popularity_accesses_day", "popularity_accesses", ["day"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_index("ix_popularity_accesses_day", table_name="popularity_accesses")
    op.drop_table("popularity_accesses")
    op.drop_index("ix_replica_deletions_cycle_id", table_name="replica_deletions")
    op.drop_index("ix_replica_deletions_status_site", table_name="replica_deletions")
    op.drop_table("replica_deletions")
    op.drop_index("ix_detox_decisions_cycle_id_dataset", table_name="detox_decisions")
    op.drop_index("ix_detox_decisions_cycle_id_site", table_name="detox_decisions")
    op.drop_table("detox_decisions")
    op.drop_table("detox_cycle_sites")
    op.drop_table("detox_cycle_lines")
    op.drop_index("ix_detox_cycles_partition_status", table_name="detox_cycles")
    op.drop_table("detox_cycles")
