"""File operations: per-file subscriptions, batches of tasks for the backends, and history.

- ``fileop_subscriptions``: one row per (file, site, kind). ``kind`` is ``transfer`` (the file
  should be at ``site``) or ``deletion`` (it should not). ``status``: new -> inbatch -> done, or
  retry (back to source selection), held (``hold_reason`` no_source / all_failed /
  site_unavailable; released by the updater or an operator), cancelled. The file's dataset,
  block, size and adler32 are copied in at subscription time so that the queue and the updater
  need no join with the inventory tables (and a file not yet in ``files`` can be subscribed).
  ``origin`` says who asked (detox, dealer, request, consistency, updater, userdata, operator)
  and ``origin_id`` which cycle or request.
- ``fileop_batches``: tasks of one kind for one link (source site -> destination site; deletions
  have no source) handed to one backend (``standalone``, ``fts3``, ...). ``status``: queued ->
  claimed (a standalone worker holds it: ``claimed_by``, ``heartbeat``) or submitted (an
  external backend has it: ``external_id`` is the FTS3 job id) -> done. ``staging`` is set while
  a tape source brings files online first (``stage_request`` is the backend's request id).
- ``fileop_tasks``: one subscription in one batch, with the chosen source. ``status``: new ->
  (staging -> staged ->) active -> done / failed / cancelled; ``exit_code`` is an errno (0 when
  done, -1 when unknown) and ``message`` the backend's words.
- ``fileop_failures``: every failed attempt of a transfer subscription per source (source
  selection reads it: untried sources first, then the least-failed retryable one).
- ``fileop_history``: every finished task, kept for the transfer and deletion pages and rates.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from dynamo.store.schema.base import BigId, metadata

__all__ = [
    "FILEOP_TABLES",
    "fileop_batches",
    "fileop_failures",
    "fileop_history",
    "fileop_subscriptions",
    "fileop_tasks",
]

fileop_subscriptions = Table(
    "fileop_subscriptions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("lfn", String(512), nullable=False),
    Column("site", String(64), nullable=False),
    Column("dataset", String(512), nullable=False),
    Column("block", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("adler32", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("hold_reason", String(16), nullable=True),
    Column("origin", String(16), nullable=False),
    Column("origin_id", BigInteger, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index(None, "lfn", "site", "kind", unique=True),
    Index(None, "status", "site"),
    Index(None, "status", "id"),  # the manager picks new and retry ones in id order
    Index(None, "dataset", "block", "site"),
)

fileop_batches = Table(
    "fileop_batches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("backend", String(32), nullable=False),
    Column("source_site", String(64), nullable=True),
    Column("site", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("staging", Integer, nullable=False, default=0),
    Column("stage_request", String(256), nullable=True),
    Column("external_id", String(256), nullable=True),
    Column("claimed_by", String(128), nullable=True),
    Column("heartbeat", BigInteger, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index(None, "backend", "status"),
)

fileop_tasks = Table(
    "fileop_tasks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("batch_id", ForeignKey("fileop_batches.id", ondelete="CASCADE"), nullable=False),
    Column(
        "subscription_id",
        ForeignKey("fileop_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source_site", String(64), nullable=True),
    Column("source_path", String(1024), nullable=True),
    Column("path", String(1024), nullable=False),
    Column("status", String(16), nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("message", Text, nullable=True),
    Column("started", BigInteger, nullable=True),
    Column("finished", BigInteger, nullable=True),
    Index(None, "batch_id", "status"),
    Index(None, "subscription_id"),
)

fileop_failures = Table(
    "fileop_failures",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        ForeignKey("fileop_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source_site", String(64), nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("message", Text, nullable=True),
    Column("at", BigInteger, nullable=False),
    Index(None, "subscription_id"),
)

fileop_history = Table(
    "fileop_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("lfn", String(512), nullable=False),
    Column("site", String(64), nullable=False),
    Column("source_site", String(64), nullable=True),
    Column("backend", String(32), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("message", Text, nullable=True),
    Column("origin", String(16), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("started", BigInteger, nullable=True),
    Column("finished", BigInteger, nullable=False),
    Index(None, "kind", "finished"),
    Index(None, "site", "kind"),
)

FILEOP_TABLES = (
    fileop_subscriptions,
    fileop_batches,
    fileop_tasks,
    fileop_failures,
    fileop_history,
)
