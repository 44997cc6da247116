"""Alembic environment of the Dynamo store, run programmatically by :func:`dynamo.store.migrate`.

The caller passes an open SQLAlchemy connection in ``config.attributes["connection"]``;
without one (e.g. ``alembic`` run by hand with ``sqlalchemy.url`` set), an engine is made
from the configured URL with :func:`dynamo.store.engine.make_engine`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dynamo.store.engine import make_engine
from dynamo.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
run_migrations_online()
