"""Engines for the three supported databases, built from one URL.

Accepted forms (anything else raises :class:`ConfigurationError`):

- ``sqlite:///relative/or/absolute/path.db`` or a bare file path: SQLite, the embedded default;
- ``postgresql://user@host:port/db`` (also ``postgres://``, ``postgresql+psycopg://``):
  PostgreSQL through psycopg 3;
- ``mysql://user:pass@host:port/db`` or ``mariadb://...`` (also ``mysql+pymysql://``):
  MariaDB/MySQL through PyMySQL, always with the utf8mb4 character set.

The password of a URL is registered with :func:`dynamo.redaction.register_secret`, so it is
masked in every log line and error message of the process.

SQLite connections run in WAL mode with foreign keys enforced and a busy timeout; transactions
are begun explicitly (``BEGIN``) so that a read transaction is one consistent snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dynamo.errors import ConfigurationError
from dynamo.redaction import redact, register_secret

__all__ = ["ACCEPTED_FORMS", "SQLITE_BUSY_TIMEOUT_MS", "make_engine", "normalize_url"]

ACCEPTED_FORMS: Final = (
    "sqlite:///PATH, a bare file path (SQLite), postgresql://USER@HOST[:PORT]/DB, "
    "mysql://USER[:PASSWORD]@HOST[:PORT]/DB or mariadb://..."
)
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000

_POSTGRES_SCHEMES: Final = {"postgresql", "postgres", "postgresql+psycopg"}
_MYSQL_SCHEMES: Final = {"mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"}


def normalize_url(url: str | URL) -> URL:
    """The SQLAlchemy URL (with the driver Dynamo uses) for any accepted form of ``url``."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else url.strip()
    if not text:
        raise ConfigurationError(f"empty database URL; accepted forms: {ACCEPTED_FORMS}")
    if "://" not in text:
        return _sqlite_url(text, given=text)
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # No "from exc": SQLAlchemy's message quotes the URL, password included.
        raise ConfigurationError(
            f"cannot parse database URL {redact(text)!r}; accepted forms: {ACCEPTED_FORMS}"
        ) from None
    register_secret(parsed.password if isinstance(parsed.password, str) else None)
    scheme = parsed.drivername
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return _sqlite_url(parsed.database or "", given=text)
    if scheme in _POSTGRES_SCHEMES:
        return parsed.set(drivername="postgresql+psycopg")
    if scheme in _MYSQL_SCHEMES:
        query = dict(parsed.query)
        query["charset"] = "utf8mb4"
        return parsed.set(drivername="mysql+pymysql", query=query)
    raise ConfigurationError(
        f"unsupported database URL {parsed.render_as_string()!r} (scheme {scheme!r}); "
        f"accepted forms: {ACCEPTED_FORMS}"
    )


def _sqlite_url(path: str, *, given: str) -> URL:
    if not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(
            f"SQLite needs a file path, got {redact(given)!r} (in-memory databases are not "
            f"supported; use MemoryInventoryStore); accepted forms: {ACCEPTED_FORMS}"
        )
    return URL.create("sqlite+pysqlite", database=str(Path(path).expanduser().absolute()))


def make_engine(url: str | URL, **engine_options: Any) -> Engine:
    """An Engine for ``url`` (see the module docstring); connects lazily, never at creation."""
    normalized = normalize_url(url)
    if normalized.get_backend_name() == "sqlite":
        engine = create_engine(normalized, **engine_options)
        _configure_sqlite(engine)
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    return create_engine(normalized, **engine_options)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below issues BEGIN itself,
        # so SELECTs run inside the transaction too (pysqlite otherwise skips BEGIN for them).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writer asks for IMMEDIATE so it never fails upgrading a read lock mid-transaction.
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())
