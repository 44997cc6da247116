"""Migrations produce schema.metadata on every backend; URLs are checked; versions enforced."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from databases import SQL_BACKENDS
from dynamo.errors import ConfigurationError, SchemaVersionError
from dynamo.store import (
    SqlInventoryStore,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    normalize_url,
)
from dynamo.store.schema import metadata


@pytest.fixture(params=SQL_BACKENDS)
def empty_url(request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]) -> str:
    return database_url_factory(str(request.param))


def test_the_migrations_create_exactly_the_schema_module(empty_url: str) -> None:
    migrate(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrating_twice_is_harmless(empty_url: str) -> None:
    migrate(empty_url)
    migrate(empty_url)
    SqlInventoryStore.open(empty_url).close()


def test_opening_a_database_that_was_never_migrated_says_to_upgrade(empty_url: str) -> None:
    with pytest.raises(SchemaVersionError, match="dynamo db upgrade"):
        SqlInventoryStore.open(empty_url)


def test_opening_a_database_at_another_revision_says_to_upgrade(empty_url: str) -> None:
    migrate(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaVersionError, match="revision 9999"):
            SqlInventoryStore(engine)
    finally:
        engine.dispose()


def test_open_with_upgrade_migrates_first(empty_url: str) -> None:
    store = SqlInventoryStore.open(empty_url, upgrade=True)
    assert store.last_seq() == 0
    store.close()


def test_a_bare_path_means_sqlite(tmp_path: Path) -> None:
    url = normalize_url(str(tmp_path / "inventory.db"))
    assert url.drivername == "sqlite+pysqlite"
    assert url.database == str(tmp_path / "inventory.db")


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://postgres@127.0.0.1:5432/dynamo", "postgresql+psycopg"),
        ("postgres://postgres@db/dynamo", "postgresql+psycopg"),
        ("mysql://root@127.0.0.1:3306/dynamo", "mysql+pymysql"),
        ("mariadb://root:secret@db/dynamo", "mysql+pymysql"),
        ("sqlite:///relative/inventory.db", "sqlite+pysqlite"),
    ],
)
def test_accepted_urls_select_the_dynamo_driver(given: str, driver: str) -> None:
    url = normalize_url(given)
    assert url.drivername == driver
    if driver == "mysql+pymysql":
        assert url.query["charset"] == "utf8mb4"


@pytest.mark.parametrize(
    "given", ["", "oracle://scott@db/orcl", "sqlite://", "sqlite:///:memory:", "http://x"]
)
def test_a_bad_url_is_refused_with_the_accepted_forms(given: str) -> None:
    with pytest.raises(ConfigurationError, match="accepted forms") as caught:
        make_engine(given)
    if given:
        assert repr(given)[1:-1].split("://")[0] in str(caught.value)
