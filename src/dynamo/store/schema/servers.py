"""Inventory servers and the leader lease (0010).

- ``servers``: one row per server sharing the database: its name and URL, its ``role``
  (``starting``, ``follower``, ``leader``), the ``inventory_log`` seq its image has applied
  (``log_seq``), the last seq it saw in the log (``log_head``), its last ``heartbeat`` and its
  start, both in milliseconds since the epoch of the server's clock.
- ``leadership``: one row (``id = 1``): the leader's ``epoch``, which grows by one at every
  change of leader, the leader's name and URL, the database session holding the lease
  (``db_session``: the PostgreSQL backend pid or the MariaDB connection id) and the leader's
  ``heartbeat``. Every write transaction of the leader locks this row and checks the epoch
  (fencing): a deposed leader can never commit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from dynamo.store.schema.base import metadata

__all__ = ["SERVER_TABLES", "leadership", "servers"]

servers = Table(
    "servers",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("url", String(512), nullable=False),
    Column("role", String(16), nullable=False),
    Column("log_seq", BigInteger, nullable=False),
    Column("log_head", BigInteger, nullable=False),
    Column("heartbeat", BigInteger, nullable=False),
    Column("started", BigInteger, nullable=False),
)

leadership = Table(
    "leadership",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
    Column("server", String(128), nullable=True),
    Column("url", String(512), nullable=True),
    Column("db_session", BigInteger, nullable=True),
    Column("heartbeat", BigInteger, nullable=False),
)

SERVER_TABLES = (servers, leadership)
