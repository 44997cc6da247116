"""Schema migrations (Alembic), run from code: no ``alembic.ini`` is needed on disk.

:func:`migrate` brings a database to the head revision (what ``dynamo db upgrade`` runs);
:func:`check_schema` raises :class:`SchemaVersionError` unless the database is exactly at head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import SchemaVersionError, StoreError
from dynamo.store.engine import make_engine

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "migrate",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config for the packaged migrations, bound to ``connection`` if given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise StoreError("no migrations are packaged")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision, or None for an empty (never migrated) database."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the schema revision: {exc}") from exc


def migrate(target: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (a URL or an Engine) to ``revision``."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"migration failed: {exc}") from exc
    finally:
        if engine is not target:
            engine.dispose()


def check_schema(engine: Engine) -> None:
    """Raise SchemaVersionError unless the database schema is at the head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        found = "an empty database" if current is None else f"revision {current}"
        raise SchemaVersionError(
            f"the database {where} has {found}, this code needs revision {head}: "
            "run `dynamo db upgrade` (dynamo.store.migrate) first"
        )
