"""Site consistency reports: one run per site check, and the files it found and acted on.

- ``consistency_runs``: a check of one site: when, how (``mode`` run / dry_run), how it ended
  (``status`` done / held / failed; ``held`` means a limit was passed and nothing was done
  automatically, ``reason`` says which), and the counts as JSON text (``summary``).
- ``consistency_files``: every file a run classified: ``kind`` missing / orphan /
  size_mismatch / checksum_mismatch / lost / unmerged / log / empty_dir, the site path and the
  LFN (when known), the size on storage and in the inventory, and the ``action`` taken:
  none / wait (missing once: the two-run rule) / transfer / delete / held / invalidate.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Text

from dynamo.store.schema.base import BigId, metadata

__all__ = ["CONSISTENCY_TABLES", "consistency_files", "consistency_runs"]

consistency_runs = Table(
    "consistency_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("reason", Text, nullable=True),
    Column("started", BigInteger, nullable=False),
    Column("finished", BigInteger, nullable=False),
    Column("summary", Text, nullable=False),
    Index(None, "site", "id"),
)

consistency_files = Table(
    "consistency_files",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", ForeignKey("consistency_runs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("lfn", String(512), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("expected_size", BigInteger, nullable=True),
    Column("action", String(12), nullable=False),
    Column("detail", Text, nullable=True),
    Index(None, "run_id", "kind"),
)

CONSISTENCY_TABLES = (consistency_runs, consistency_files)
