"""User data: the datasets users injected and the external files they import (0009).

- ``userdata_datasets``: one row per user dataset: its ``owner`` (the user name of the
  namespace ``/store/user/<owner>/``), when it was created, when the owner declared the
  processing complete (``completed``), the site it was subscribed to for consolidation
  (``target_site``, ``subscribed``) and when the scattered copies were gone
  (``consolidated``), and when the owner asked for its deletion (``deleted``). The blocks,
  files and replicas themselves are in the inventory.
- ``userdata_imports``: a file produced outside Dynamo to be copied from ``source_url`` into
  the owner's namespace at ``site``: ``status`` new -> done (registered) or failed
  (``message`` says why); ``size`` and ``adler32`` are what the owner declared (null: take
  what the source holds).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from dynamo.store.schema.base import BigId, metadata

__all__ = ["USERDATA_TABLES", "userdata_datasets", "userdata_imports"]

userdata_datasets = Table(
    "userdata_datasets",
    metadata,
    Column("name", String(512), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("completed", BigInteger, nullable=True),
    Column("target_site", String(64), nullable=True),
    Column("subscribed", BigInteger, nullable=True),
    Column("consolidated", BigInteger, nullable=True),
    Column("deleted", BigInteger, nullable=True),
    Index(None, "owner"),
)

userdata_imports = Table(
    "userdata_imports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset", String(512), nullable=False),
    Column("lfn", String(512), nullable=False),
    Column("site", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("source_url", Text, nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("adler32", String(8), nullable=True),
    Column("status", String(12), nullable=False),
    Column("message", Text, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Index(None, "status"),
    Index(None, "lfn"),
)

USERDATA_TABLES = (userdata_datasets, userdata_imports)
