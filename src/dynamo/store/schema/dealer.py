"""Dealer history: one row per cycle and one per proposal it accepted or rejected (0008).

- ``dealer_cycles``: a cycle of one partition: when, how (``mode`` run / test for a dry run),
  ``status`` (``planned`` -> ``committed``; ``test``; ``abandoned`` when a planned cycle was
  never committed; ``failed``), the seed, the application run and the ``inventory_log`` seq of
  the commit, and a JSON summary (counts, volume, rejections by reason).
- ``dealer_copies``: every proposal the cycle examined: the plug-in that made it and its
  priority, the dataset and, for a block-level copy, the block (null: the whole dataset or
  every block the plug-in named, listed in ``reason``), the destination (null when none was
  found), the owning group, the bytes to copy, why the plug-in asked (``reason``), the outcome
  (``status`` accepted / rejected, ``reject_reason``) and the copy request it serves.
- ``queued_jobs`` (0011): the job-queue demand a source sync brought in (``docs/sources.md``):
  ``jobs`` jobs queued at ``queued`` (epoch s) that read ``dataset``; the Dealer's popularity
  plug-in weighs them (``dynamo.dealer.jobqueue``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from dynamo.store.schema.base import BigId, metadata

__all__ = ["DEALER_TABLES", "dealer_copies", "dealer_cycles", "queued_jobs"]

dealer_cycles = Table(
    "dealer_cycles",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("partition", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started", BigInteger, nullable=False),
    Column("finished", BigInteger, nullable=True),
    Column("seed", Integer, nullable=False),
    Column("run_id", BigInteger, nullable=True),
    Column("log_seq", BigInteger, nullable=True),
    Column("summary", Text, nullable=True),
    Index(None, "partition", "status"),
)

dealer_copies = Table(
    "dealer_copies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("cycle_id", ForeignKey("dealer_cycles.id", ondelete="CASCADE"), nullable=False),
    Column("plugin", String(32), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("dataset", String(512), nullable=False),
    Column("block", String(128), nullable=True),
    Column("site", String(64), nullable=True),
    Column("group", String(64), nullable=True),
    Column("size", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(12), nullable=False),
    Column("reject_reason", Text, nullable=True),
    Column("request_id", BigInteger, nullable=True),
    Index(None, "cycle_id", "status"),
)

queued_jobs = Table(
    "queued_jobs",
    metadata,
    Column("dataset", String(512), primary_key=True),
    Column("queued", BigInteger, primary_key=True, autoincrement=False),
    Column("jobs", BigInteger, nullable=False),
)

DEALER_TABLES = (dealer_cycles, dealer_copies, queued_jobs)
