"""The inventory tables, in SQLAlchemy Core.

Integer surrogate ids keep the big tables narrow (block_replicas and files carry ids, not names);
natural keys are unique indexes. Enumerations are stored as their small int values
(:mod:`dynamo.model.enums`). Times are BIGINT seconds since the epoch (UTC); sizes BIGINT bytes.
A NULL ``group_id`` is the null group. A block replica with NULL ``size`` and ``num_files`` is
complete (it has the block's size and file count, whatever they become).

``inventory_log`` holds one row per committed ChangeSet: the DB is the truth, and the memory
image is the DB at the highest ``seq`` it has applied. Migrations (Alembic) live in
``dynamo/store/migrations``; change this module and add a migration together.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dynamo.store.schema.base import BigId, Blob, metadata

__all__ = [
    "INVENTORY_TABLES",
    "block_replicas",
    "blocks",
    "dataset_replicas",
    "datasets",
    "files",
    "groups",
    "inventory_log",
    "partitions",
    "quotas",
    "sites",
]

groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("olevel", SmallInteger, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("host", String(256), nullable=False, default=""),
    Column("storage_type", SmallInteger, nullable=False),
    Column("backend", String(512), nullable=False, default=""),
    Column("status", SmallInteger, nullable=False),
)

partitions = Table(
    "partitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    # Exactly one of the two is set: a condition on block replicas, or a JSON list of names.
    Column("condition_text", Text, nullable=True),
    Column("subpartitions", Text, nullable=True),
)

quotas = Table(
    "quotas",
    metadata,
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("partition_id", ForeignKey("partitions.id", ondelete="CASCADE"), primary_key=True),
    Column("quota", BigInteger, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(512), nullable=False, unique=True),
    Column("status", SmallInteger, nullable=False),
    Column("data_type", SmallInteger, nullable=False),
    # "cycle.major.minor.suffix", e.g. "10.6.4.patch1"; NULL when unknown.
    Column("software_version", String(64), nullable=True),
    Column("last_update", BigInteger, nullable=False),
    Column("is_open", Boolean, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("num_files", Integer, nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("last_update", BigInteger, nullable=False),
    UniqueConstraint("dataset_id", "name"),
)

files = Table(
    "files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("block_id", ForeignKey("blocks.id", ondelete="CASCADE"), nullable=False),
    Column("lfn", String(512), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("adler32", String(8), nullable=False, default=""),
    Index(None, "block_id"),
)

dataset_replicas = Table(
    "dataset_replicas",
    metadata,
    Column("dataset_id", ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="SET NULL"), nullable=True),
    Column("growing", Boolean, nullable=False),
)

block_replicas = Table(
    "block_replicas",
    metadata,
    Column("block_id", ForeignKey("blocks.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="SET NULL"), nullable=True),
    Column("is_custodial", Boolean, nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("num_files", Integer, nullable=True),
    Column("last_update", BigInteger, nullable=False),
    Index(None, "site_id"),
)

inventory_log = Table(
    "inventory_log",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("committed_at", BigInteger, nullable=False),
    Column("num_ops", Integer, nullable=False),
    # The ChangeSet, msgpack-encoded (ChangeSet.to_msgpack).
    Column("changeset", Blob, nullable=False),
)

INVENTORY_TABLES = (
    groups,
    sites,
    partitions,
    quotas,
    datasets,
    blocks,
    files,
    dataset_replicas,
    block_replicas,
)
"""The inventory tables in dependency order (parents first)."""
