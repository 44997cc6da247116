"""The inventory tables and inventory_log (the schema of dynamo.store.schema at 0.1).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def _fk(column: str, table: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("olevel", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_groups"),
        sa.UniqueConstraint("name", name="uq_groups_name"),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("storage_type", sa.SmallInteger(), nullable=False),
        sa.Column("backend", sa.String(512), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sites"),
        sa.UniqueConstraint("name", name="uq_sites_name"),
    )
    op.create_table(
        "partitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("condition_text", sa.Text(), nullable=True),
        sa.Column("subpartitions", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partitions"),
        sa.UniqueConstraint("name", name="uq_partitions_name"),
    )
    op.create_table(
        "quotas",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("partition_id", sa.Integer(), nullable=False),
        sa.Column("quota", sa.BigInteger(), nullable=False),
        _fk("site_id", "quotas", "sites", "CASCADE"),
        _fk("partition_id", "quotas", "partitions", "CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "partition_id", name="pk_quotas"),
    )
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("data_type", sa.SmallInteger(), nullable=False),
        sa.Column("software_version", sa.String(64), nullable=True),
        sa.Column("last_update", sa.BigInteger(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "blocks",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("num_files", sa.Integer(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("last_update", sa.BigInteger(), nullable=False),
        _fk("dataset_id", "blocks", "datasets", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_blocks"),
        sa.UniqueConstraint("dataset_id", "name", name="uq_blocks_dataset_id_name"),
    )
    op.create_table(
        "files",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("block_id", _BigId, nullable=False),
        sa.Column("lfn", sa.String(512), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("adler32", sa.String(8), nullable=False),
        _fk("block_id", "files", "blocks", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
        sa.UniqueConstraint("lfn", name="uq_files_lfn"),
    )
    op.create_index("ix_files_block_id", "files", ["block_id"])
    op.create_table(
        "dataset_replicas",
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("growing", sa.Boolean(), nullable=False),
        _fk("dataset_id", "dataset_replicas", "datasets", "CASCADE"),
        _fk("site_id", "dataset_replicas", "sites", "CASCADE"),
        _fk("group_id", "dataset_replicas", "groups", "SET NULL"),
        sa.PrimaryKeyConstraint("dataset_id", "site_id", name="pk_dataset_replicas"),
    )
    op.create_table(
        "block_replicas",
        sa.Column("block_id", _BigId, nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("is_custodial", sa.Boolean(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("num_files", sa.Integer(), nullable=True),
        sa.Column("last_update", sa.BigInteger(), nullable=False),
        _fk("block_id", "block_replicas", "blocks", "CASCADE"),
        _fk("site_id", "block_replicas", "sites", "CASCADE"),
        _fk("group_id", "block_replicas", "groups", "SET NULL"),
        sa.PrimaryKeyConstraint("block_id", "site_id", name="pk_block_replicas"),
    )
    op.create_index("ix_block_replicas_site_id", "block_replicas", ["site_id"])
    op.create_table(
        "inventory_log",
        sa.Column("seq", _BigId, autoincrement=True, nullable=False),
        sa.Column("committed_at", sa.BigInteger(), nullable=False),
        sa.Column("num_ops", sa.Integer(), nullable=False),
        sa.Column("changeset", _Blob, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_inventory_log"),
    )


def downgrade() -> None:
    for table in (
        "inventory_log",
        "block_replicas",
        "dataset_replicas",
        "files",
        "blocks",
        "datasets",
        "quotas",
        "partitions",
        "sites",
        "groups",
    ):
        op.drop_table(table)
