"""Shared database fixtures: a fresh, uniquely named database per test on every backend.

- ``database_url_factory(backend)`` returns the URL of a new empty database (``"sqlite"``,
  ``"postgresql"`` or ``"mysql"``); each one is dropped at teardown.
- ``sqlite_url``, ``postgresql_url``, ``mysql_url``: one fresh database each.

Also the hypothesis profile: ``DYNAMO_HYPOTHESIS_PROFILE=ci`` derandomizes every property test.

PostgreSQL is expected on 127.0.0.1:5432 (user postgres, trust auth) and MariaDB on
127.0.0.1:3306 (root, empty password); override with ``DYNAMO_TEST_POSTGRESQL`` and
``DYNAMO_TEST_MYSQL`` (server URLs without a database). An unreachable server makes the test
FAIL, unless ``DYNAMO_TEST_SKIP_SERVERS=1`` is set, which turns that into a skip. Names derive
from the xdist worker id and a uuid, so parallel workers never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from databases import SQL_BACKENDS

SERVER_URLS = {
    "postgresql": os.environ.get(
        "DYNAMO_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
    "mysql": os.environ.get("DYNAMO_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/"),
}
BACKENDS = SQL_BACKENDS

DatabaseUrlFactory = Callable[[str], str]

# CI runs every property test with a fixed derivation of its examples (``.ci/run`` sets the
# profile), so a landing never depends on the luck of the draw; local runs stay random and
# keep finding new cases.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("DYNAMO_HYPOTHESIS_PROFILE", "default"))


def _unique_name(worker_id: str) -> str:
    return f"dynamo_test_{worker_id}_{uuid.uuid4().hex[:12]}"


def _server_engine_url(backend: str) -> URL:
    return make_url(SERVER_URLS[backend])


def _admin(backend: str, statement: str) -> None:
    engine = create_engine(_server_engine_url(backend), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _create_server_database(backend: str, name: str) -> str:
    try:
        if backend == "postgresql":
            _admin(backend, f'CREATE DATABASE "{name}"')
        else:
            _admin(backend, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    except OperationalError as exc:
        message = f"{backend} server at {SERVER_URLS[backend]} is not reachable: {exc}"
        if os.environ.get("DYNAMO_TEST_SKIP_SERVERS") == "1":
            pytest.skip(message)
        pytest.fail(message + " (set DYNAMO_TEST_SKIP_SERVERS=1 to skip instead)")
    url = _server_engine_url(backend).set(database=name)
    return url.render_as_string(hide_password=False)


def _drop_server_database(backend: str, name: str) -> None:
    if backend == "postgresql":
        _admin(backend, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        _admin(backend, f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def database_url_factory(tmp_path: Path, worker_id: str) -> Iterator[DatabaseUrlFactory]:
    """Makes fresh empty databases on demand; drops the server ones at teardown."""
    created: list[tuple[str, str]] = []

    def make(backend: str) -> str:
        name = _unique_name(worker_id)
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / (name + '.db')}"
        if backend not in SERVER_URLS:
            raise ValueError(f"unknown backend {backend!r}; known: {BACKENDS}")
        url = _create_server_database(backend, name)
        created.append((backend, name))
        return url

    yield make
    for backend, name in reversed(created):
        _drop_server_database(backend, name)


@pytest.fixture
def sqlite_url(database_url_factory: DatabaseUrlFactory) -> str:
    return database_url_factory("sqlite")


@pytest.fixture
def postgresql_url(database_url_factory: DatabaseUrlFactory) -> str:
    return database_url_factory("postgresql")


@pytest.fixture
def mysql_url(database_url_factory: DatabaseUrlFactory) -> str:
    return database_url_factory("mysql")
