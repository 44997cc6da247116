"""Copy and deletion requests and replica locks (migration 0002).

Records of :mod:`dynamo.registry`, written directly (they are not inventory ChangeSets).
Statuses and kinds are stored as their lowercase names; times are BIGINT epoch seconds.
A request's items, sites and actions are child rows (deleted with it). Items are ``dataset`` or
``dataset#block`` (640 characters: a 512-character dataset name, ``#`` and a block name).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from dynamo.store.schema.base import BigId, metadata

__all__ = [
    "ITEM_LENGTH",
    "REGISTRY_TABLES",
    "replica_locks",
    "request_actions",
    "request_items",
    "request_sites",
    "requests",
]

ITEM_LENGTH = 640

requests = Table(
    "requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("dn", String(512), nullable=False),
    Column("group_name", String(64), nullable=True),
    Column("n", Integer, nullable=False),
    Column("first_request", BigInteger, nullable=False),
    Column("last_request", BigInteger, nullable=False),
    Column("request_count", Integer, nullable=False),
    Column("reject_reason", Text, nullable=True),
    Index(None, "user_name", "status"),
    Index(None, "status"),
)

request_items = Table(
    "request_items",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("item", String(ITEM_LENGTH), primary_key=True),
    Index(None, "item"),
)

request_sites = Table(
    "request_sites",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("site", String(64), primary_key=True),
    Index(None, "site"),
)

request_actions = Table(
    "request_actions",
    metadata,
    Column("request_id", ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("item", String(ITEM_LENGTH), primary_key=True),
    Column("site", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("last_update", BigInteger, nullable=False),
)

replica_locks = Table(
    "replica_locks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("item", String(ITEM_LENGTH), nullable=False),
    Column("sites", String(ITEM_LENGTH), nullable=True),
    Column("groups", String(ITEM_LENGTH), nullable=True),
    Column("expires", BigInteger, nullable=False),
    Column("comment", Text, nullable=False),
    Column("user_name", String(128), nullable=False),
    Column("dn", String(512), nullable=False),
    Column("service", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("released", BigInteger, nullable=True),
    Index(None, "dn", "service"),
    Index(None, "expires"),
)

REGISTRY_TABLES = (requests, request_items, request_sites, request_actions, replica_locks)
"""The registry tables in dependency order (parents first)."""
