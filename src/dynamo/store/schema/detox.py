"""Detox history, the deletion queue and popularity access records (migration 0005).

- ``detox_cycles``: one row per cycle: partition, mode (``run`` or ``test`` for a dry run),
  status (``planned`` -> ``committed``; ``test``; ``abandoned`` when a planned cycle was never
  committed; ``failed``), the policy text in force and its sha256, the policy problem that made
  the cycle fall back to the last good policy (``policy_error``), the seed, the ``inventory_log``
  seq of the commit and a JSON summary.
- ``detox_cycle_lines``: the policy lines of a cycle (``line_id`` = index in the policy; -1 is
  the hard last-copy safety rule), with their text, so every decision names the line that made it.
- ``detox_cycle_sites``: per target site, the quota, the occupancy before and after, whether the
  site was triggered, the protected / kept / deleted bytes and why deletion stopped.
- ``detox_decisions``: per (site, dataset, decision, line) the bytes and block replicas.
- ``replica_deletions``: block replicas a committed cycle handed to the null group, queued for
  file operations (``status`` new -> queued -> done / failed, owned by file operations).
- ``popularity_accesses``: access counts per dataset, site and UTC day (``day`` = epoch seconds
  at midnight), as the CMS popularity service recorded them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dynamo.store.schema.base import BigId, metadata

__all__ = [
    "DETOX_TABLES",
    "detox_cycle_lines",
    "detox_cycle_sites",
    "detox_cycles",
    "detox_decisions",
    "popularity_accesses",
    "replica_deletions",
]

detox_cycles = Table(
    "detox_cycles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("partition", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started", BigInteger, nullable=False),
    Column("finished", BigInteger, nullable=True),
    Column("policy_file", String(1024), nullable=True),
    Column("policy_text", Text, nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("policy_error", Text, nullable=True),
    Column("seed", Integer, nullable=False),
    Column("run_id", BigInteger, nullable=True),
    Column("log_seq", BigInteger, nullable=True),
    Column("summary", Text, nullable=True),
    Index(None, "partition", "status"),
)

detox_cycle_lines = Table(
    "detox_cycle_lines",
    metadata,
    Column("cycle_id", ForeignKey("detox_cycles.id", ondelete="CASCADE"), primary_key=True),
    Column("line_id", Integer, primary_key=True, autoincrement=False),
    Column("line_number", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("matched", Integer, nullable=False),
)

detox_cycle_sites = Table(
    "detox_cycle_sites",
    metadata,
    Column("cycle_id", ForeignKey("detox_cycles.id", ondelete="CASCADE"), primary_key=True),
    Column("site", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("quota_bytes", BigInteger, nullable=False),
    # NULL for a zero quota with data on it (infinite occupancy)
    Column("occupancy_before", Double, nullable=True),
    Column("occupancy_after", Double, nullable=True),
    Column("triggered", Boolean, nullable=False),
    Column("protected_bytes", BigInteger, nullable=False),
    Column("kept_bytes", BigInteger, nullable=False),
    Column("deleted_bytes", BigInteger, nullable=False),
    Column("stop_reason", Text, nullable=True),
)

detox_decisions = Table(
    "detox_decisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("cycle_id", ForeignKey("detox_cycles.id", ondelete="CASCADE"), nullable=False),
    Column("site", String(64), nullable=False),
    Column("dataset", String(512), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("line_id", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("num_blocks", Integer, nullable=False),
    Index(None, "cycle_id", "site"),
    Index(None, "cycle_id", "dataset"),
)

replica_deletions = Table(
    "replica_deletions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("cycle_id", ForeignKey("detox_cycles.id", ondelete="SET NULL"), nullable=True),
    Column("dataset", String(512), nullable=False),
    Column("block", String(128), nullable=False),
    Column("site", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index(None, "status", "site"),
    Index(None, "cycle_id"),
)

popularity_accesses = Table(
    "popularity_accesses",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset", String(512), nullable=False),
    Column("site", String(64), nullable=False),
    Column("day", BigInteger, nullable=False),
    Column("num_accesses", BigInteger, nullable=False),
    Column("cpu_hours", Double, nullable=False),
    UniqueConstraint("dataset", "site", "day"),
    Index(None, "day"),
)

DETOX_TABLES = (
    detox_cycles,
    detox_cycle_lines,
    detox_cycle_sites,
    detox_decisions,
    replica_deletions,
    popularity_accesses,
)
