"""Write a synthetic inventory into a database: ``dynamo bench generate``.

:func:`build_database` creates the database if needed (PostgreSQL, MariaDB), refuses one that
already holds inventory rows unless ``force`` (which drops and recreates it), brings the schema
to the head migration, bulk-loads every table of :class:`InventoryGenerator` in order, adds
access records and replica locks (:mod:`dynamo.bench.extras`), resets the id sequences and
records the generation as ``inventory_log`` row ``seq = 1`` (an empty ChangeSet). On
PostgreSQL the secondary indexes and constraints are taken off during the load and put back
with their exact definitions, so the final schema is the migrated one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, create_engine, func, insert, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from dynamo.bench.extras import ExtrasReport, write_extras
from dynamo.bench.generator import REFERENCE_TIME, TABLE_ORDER, InventoryGenerator
from dynamo.bench.scales import Scale
from dynamo.errors import ConfigurationError, StoreError
from dynamo.model.changeset import ChangeSet
from dynamo.store import schema
from dynamo.store.bulk import (
    bulk_insert,
    drop_secondary_indexes,
    reset_id_sequences,
    restore_secondary_indexes,
)
from dynamo.store.engine import make_engine, normalize_url
from dynamo.store.migration import migrate

__all__ = [
    "BuildObserver",
    "BuildReport",
    "NullObserver",
    "build_database",
    "drop_database",
    "ensure_database",
]


class BuildObserver(Protocol):
    """Receives progress while a database is built (the CLI draws progress bars from it)."""

    def table_started(self, table: str, expected_rows: int) -> None: ...

    def rows_written(self, table: str, count: int) -> None: ...

    def table_finished(self, table: str, rows: int, seconds: float) -> None: ...

    def step(self, message: str) -> None: ...


class NullObserver:
    """A BuildObserver that ignores everything."""

    def table_started(self, table: str, expected_rows: int) -> None:
        pass

    def rows_written(self, table: str, count: int) -> None:
        pass

    def table_finished(self, table: str, rows: int, seconds: float) -> None:
        pass

    def step(self, message: str) -> None:
        pass


@dataclass(slots=True)
class BuildReport:
    """What a build wrote: rows and seconds per table, volumes in bytes, total seconds."""

    scale: str
    backend: str
    seed: int
    with_files: bool
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    unique_bytes: int = 0
    disk_bytes: int = 0
    tape_bytes: int = 0
    extras: ExtrasReport | None = None
    """The access records and replica locks written after the inventory tables."""

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def build_database(
    url: str,
    scale: Scale,
    *,
    seed: int = 0,
    reference_time: int = REFERENCE_TIME,
    force: bool = False,
    with_files: bool = True,
    observer: BuildObserver | None = None,
) -> BuildReport:
    """Generate ``scale`` with ``seed`` into the database at ``url``; see the module docstring.

    ConfigurationError when the database already holds inventory rows and ``force`` is off;
    StoreError when the database fails.
    """
    observer = observer or NullObserver()
    started = time.perf_counter()
    target = normalize_url(url)
    if force:
        observer.step("dropping the existing database")
        drop_database(target)
    ensure_database(target)
    engine = make_engine(target)
    try:
        _check_empty(engine)
        observer.step("migrating the schema to head")
        migrate(engine)
        generator = InventoryGenerator(scale, seed=seed, reference_time=reference_time)
        report = BuildReport(scale.name, target.get_backend_name(), seed, with_files)
        _load_tables(engine, generator, report, observer)
        report.extras = write_extras(
            engine, scale=scale, seed=seed, reference_time=reference_time, observer=observer
        )
        observer.step("recording the generation in inventory_log")
        with engine.begin() as conn:
            reset_id_sequences(conn, (*schema.INVENTORY_TABLES, schema.inventory_log))
            conn.execute(
                insert(schema.inventory_log).values(
                    committed_at=reference_time, num_ops=0, changeset=ChangeSet().to_msgpack()
                )
            )
        report.unique_bytes = sum(generator.block_sizes)
        for (site_id, _group), used in generator.usage.items():
            if generator.sites[site_id - 1].is_disk:
                report.disk_bytes += used
            else:
                report.tape_bytes += used
    except SQLAlchemyError as exc:
        raise StoreError(f"building the database failed: {exc}") from exc
    finally:
        engine.dispose()
    report.total_seconds = time.perf_counter() - started
    return report


def _load_tables(
    engine: Engine, generator: InventoryGenerator, report: BuildReport, observer: BuildObserver
) -> None:
    tables = {table.name: table for table in schema.INVENTORY_TABLES}
    with engine.begin() as conn:
        dropped = drop_secondary_indexes(conn, schema.INVENTORY_TABLES)
    for name in TABLE_ORDER:
        if name == "files" and not report.with_files:
            generator.skip_files()
            continue
        observer.table_started(name, generator.expected_rows(name))
        table_started = time.perf_counter()

        def advance(count: int, table: str = name) -> None:
            observer.rows_written(table, count)

        with engine.begin() as conn:
            written = bulk_insert(conn, tables[name], generator.rows(name), on_progress=advance)
        report.rows[name] = written
        report.seconds[name] = time.perf_counter() - table_started
        observer.table_finished(name, written, report.seconds[name])
    if dropped.statements:
        observer.step(f"rebuilding {len(dropped.statements)} indexes and constraints")
        index_started = time.perf_counter()
        with engine.begin() as conn:
            restore_secondary_indexes(conn, dropped)
        report.seconds["indexes"] = time.perf_counter() - index_started


def _check_empty(engine: Engine) -> None:
    """ConfigurationError unless every inventory table is absent or empty."""
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in schema.INVENTORY_TABLES:
            if table.name not in present:
                continue
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                where = engine.url.render_as_string(hide_password=True)
                raise ConfigurationError(
                    f"the database {where} already holds an inventory (table {table.name} "
                    "is not empty); use --force to drop and recreate it"
                )


@contextmanager
def _server(url: URL) -> Iterator[tuple[Engine, str]]:
    """An AUTOCOMMIT engine on the server's default database, and the target database name."""
    name = url.database or ""
    if not name:
        raise ConfigurationError(f"the URL {url.render_as_string()} names no database")
    default = "postgres" if url.get_backend_name() == "postgresql" else ""
    engine = create_engine(url.set(database=default), isolation_level="AUTOCOMMIT")
    try:
        yield engine, name
    finally:
        engine.dispose()


def ensure_database(url: URL) -> None:
    """Create the PostgreSQL or MariaDB database named by ``url`` if it does not exist."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        return
    with _server(url) as (engine, name), engine.connect() as conn:
        if backend == "postgresql":
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"))


def drop_database(url: URL) -> None:
    """Drop the database named by ``url`` (for SQLite: delete the file and its WAL files)."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = Path(url.database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    with _server(url) as (engine, name), engine.connect() as conn:
        if backend == "postgresql":
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
