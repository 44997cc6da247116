"""Users and their roles on targets (migration 0003).

A user is a name and the DN of their certificate (grid slash form, ``/DC=ch/DC=cern/...``), both
unique. ``user_roles`` holds the grants: one row per (user, role, target), roles and targets
stored as their names (``admin``/``operator``/``user``; ``inventory``, ``registry``...).
Deleting a user deletes their grants. ``created`` is seconds since the epoch (UTC).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

from dynamo.store.schema.base import metadata

__all__ = ["ROLE_NAMES", "TARGET_NAMES", "user_roles", "users"]

ROLE_NAMES = frozenset({"admin", "operator", "user"})
"""The names ``user_roles.role`` holds (``dynamo.api.security.Role``; a test keeps them equal)."""
TARGET_NAMES = frozenset(
    {"inventory", "registry", "history", "application", "userdata", "popularity"}
)
"""The names ``user_roles.target`` holds (``dynamo.api.security.Target``)."""

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("dn", String(512), nullable=False, unique=True),
    Column("created", BigInteger, nullable=False),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("target", String(16), primary_key=True),
)
