"""Application runs of the scheduler and the write authorisations of applications (0004).

``app_runs`` keeps every run, so the history survives restarts: mode ``read``/``write``, status
(``new queued running done failed killed timeout authfailed``), the caller's DN, the arguments
and summary as JSON text, times as BIGINT epoch seconds, and ``log_seq`` of the ChangeSet the run
committed (NULL when it committed nothing).

``app_authorizations`` lists who may run an application in write mode: a row with a NULL
``user_dn`` authorises anyone holding operator or admin on target ``application``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint

from dynamo.store.schema.base import BigId, metadata

__all__ = ["app_authorizations", "app_runs"]

app_runs = Table(
    "app_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("user_dn", String(512), nullable=True),
    # What started the run: "api", "interval:NAME" or "sequence:NAME".
    Column("source", String(128), nullable=False),
    Column("args", Text, nullable=False),
    Column("timeout", Integer, nullable=True),
    Column("submitted", BigInteger, nullable=False),
    Column("started", BigInteger, nullable=True),
    Column("finished", BigInteger, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("log_seq", BigInteger, nullable=True),
    Column("summary", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("log_path", String(1024), nullable=False),
    Index(None, "app"),
    Index(None, "status"),
)

app_authorizations = Table(
    "app_authorizations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app", String(64), nullable=False),
    Column("user_dn", String(512), nullable=True),
    UniqueConstraint("app", "user_dn"),
)
