"""Fast bulk INSERT of rows into one table of :mod:`dynamo.store.schema`, for every backend.

Rows are tuples in the table's column order (every column), holding ``int``, ``str``, ``bool``
or ``None`` (and ``bytes`` on SQLite and MariaDB only); the caller assigns the ids. Per backend:

- PostgreSQL: ``COPY ... FROM STDIN`` in text format, written as pre-formatted chunks
  (``copy.write``), with backslash, tab, newline and carriage return escaped and NULL as ``\\N``.
- MariaDB/MySQL: multi-row ``INSERT`` batches (PyMySQL's ``executemany`` folds them), with
  foreign-key and unique checks off for the session while loading.
- SQLite: ``executemany`` inside the caller's transaction.

The rows are written inside the caller's transaction: commit to keep them. Around a large load,
:func:`drop_secondary_indexes` / :func:`restore_secondary_indexes` take the non-primary indexes,
unique and foreign-key constraints off PostgreSQL tables and put back exactly the same
definitions (read from the catalog), and :func:`reset_id_sequences` moves the id sequences past
the largest loaded id so the store's later inserts do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, func, select, text

from dynamo.errors import StoreError

__all__ = [
    "DroppedDefinitions",
    "bulk_insert",
    "drop_secondary_indexes",
    "format_copy_text",
    "is_plain_copy_text",
    "reset_id_sequences",
    "restore_secondary_indexes",
]

ProgressCallback = Callable[[int], None]

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def bulk_insert(
    connection: Connection,
    table: Table,
    rows: Iterable[Sequence[Any]],
    *,
    batch_rows: int = 20_000,
    on_progress: ProgressCallback | None = None,
) -> int:
    """Insert ``rows`` into ``table`` inside the connection's transaction; return the count.

    ``on_progress`` is called with the number of rows of each batch once it is written.
    StoreError wraps any database failure.
    """
    dialect = connection.dialect.name
    writer = {"postgresql": _copy_postgresql, "sqlite": _insert_many, "mysql": _insert_many}
    if dialect == "mariadb":
        dialect = "mysql"
    if dialect not in writer:
        raise StoreError(f"bulk insert does not support the {dialect!r} backend")
    iterator = iter(rows)
    try:
        return writer[dialect](connection, table, iterator, batch_rows, on_progress)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"bulk insert into {table.name} failed: {exc}") from exc


def format_copy_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows in PostgreSQL's COPY text format, one line each (trailing newline included)."""
    lines = []
    for row in rows:
        lines.append("\t".join([_copy_value(value) for value in row]))
    lines.append("")
    return "\n".join(lines)


def is_plain_copy_text(text: str, rows: int, columns: int) -> bool:
    """Whether ``text``, written as ``rows`` lines of ``columns`` values joined by tabs, each
    line ending with a newline, with no escaping, is valid COPY text of those values: true when
    no value held a backslash, tab, newline or carriage return (a tab or newline inside a value
    would add to the counts). Writing f-strings and checking is much cheaper than escaping
    each value."""
    return (
        "\\" not in text
        and "\r" not in text
        and text.count("\t") == rows * (columns - 1)
        and text.count("\n") == rows
    )


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, int):
        return str(value)
    raise StoreError(f"cannot COPY a value of type {type(value).__name__}")


def _copy_postgresql(
    connection: Connection,
    table: Table,
    rows: Iterable[Sequence[Any]],
    batch_rows: int,
    on_progress: ProgressCallback | None,
) -> int:
    columns = ", ".join(f'"{column.name}"' for column in table.columns)
    raw = connection.connection.driver_connection
    if raw is None:
        raise StoreError("no PostgreSQL driver connection")
    total = 0
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        while True:
            batch = list(islice(rows, batch_rows))
            if not batch:
                break
            copy.write(format_copy_text(batch))
            total += len(batch)
            if on_progress is not None:
                on_progress(len(batch))
    return total


def _insert_many(
    connection: Connection,
    table: Table,
    rows: Iterable[Sequence[Any]],
    batch_rows: int,
    on_progress: ProgressCallback | None,
) -> int:
    is_sqlite = connection.dialect.name == "sqlite"
    marker = "?" if is_sqlite else "%s"
    quote = '"' if is_sqlite else "`"
    columns = ", ".join(f"{quote}{column.name}{quote}" for column in table.columns)
    markers = ", ".join(marker for _ in table.columns)
    statement = f"INSERT INTO {quote}{table.name}{quote} ({columns}) VALUES ({markers})"
    raw = connection.connection.driver_connection
    if raw is None:
        raise StoreError("no driver connection")
    total = 0
    cursor = raw.cursor()
    try:
        if not is_sqlite:
            cursor.execute("SET foreign_key_checks = 0, unique_checks = 0")
        while True:
            batch = list(islice(rows, batch_rows))
            if not batch:
                break
            cursor.executemany(statement, batch)
            total += len(batch)
            if on_progress is not None:
                on_progress(len(batch))
    finally:
        if not is_sqlite:  # the session goes back to the pool: restore the checks even on error
            cursor.execute("SET foreign_key_checks = 1, unique_checks = 1")
        cursor.close()
    return total


@dataclass(frozen=True, slots=True)
class DroppedDefinitions:
    """The DDL that :func:`restore_secondary_indexes` replays, in order."""

    statements: tuple[str, ...] = ()


def drop_secondary_indexes(connection: Connection, tables: Iterable[Table]) -> DroppedDefinitions:
    """On PostgreSQL, drop the foreign keys, unique constraints and non-primary indexes of
    ``tables`` and return their exact definitions; elsewhere do nothing."""
    if connection.dialect.name != "postgresql":
        return DroppedDefinitions()
    names = [table.name for table in tables]
    constraints = connection.execute(
        text(
            "SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
            "WHERE t.relname = ANY(:names) AND c.contype IN ('f', 'u') "
            "AND t.relnamespace = current_schema()::regnamespace"
        ),
        {"names": names},
    ).all()
    indexes = connection.execute(
        text(
            "SELECT t.relname, i.relname, pg_get_indexdef(i.oid) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(:names) AND NOT x.indisprimary "
            "AND t.relnamespace = current_schema()::regnamespace "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
        ),
        {"names": names},
    ).all()
    foreign = [row for row in constraints if row[2] == "f"]
    unique = [row for row in constraints if row[2] == "u"]
    restore: list[str] = [definition for _, _, definition in indexes]
    for table_name, name, _, definition in unique + foreign:
        restore.append(f'ALTER TABLE "{table_name}" ADD CONSTRAINT "{name}" {definition}')
    for table_name, name, _, _ in foreign + unique:
        connection.execute(text(f'ALTER TABLE "{table_name}" DROP CONSTRAINT "{name}"'))
    for _, name, _ in indexes:
        connection.execute(text(f'DROP INDEX "{name}"'))
    return DroppedDefinitions(tuple(restore))


def restore_secondary_indexes(
    connection: Connection,
    dropped: DroppedDefinitions,
    *,
    on_statement: Callable[[str], None] | None = None,
) -> None:
    """Replay what :func:`drop_secondary_indexes` dropped (indexes, unique, then foreign keys).

    The index builds get ``maintenance_work_mem`` of 1 GB for this transaction only: the
    default 64 MB makes a 60M-row unique index sort spill to disk many times over.
    """
    if dropped.statements:
        connection.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    for statement in dropped.statements:
        if on_statement is not None:
            on_statement(statement)
        connection.execute(text(statement))


def reset_id_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """Make the next generated id of each table with an integer ``id`` (or ``seq``) primary
    key one past the largest present (PostgreSQL ``setval``, MariaDB ``AUTO_INCREMENT``;
    SQLite needs nothing)."""
    dialect = connection.dialect.name
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].autoincrement is False:
            continue
        key = keys[0]
        if dialect == "postgresql":
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                    f'COALESCE((SELECT max("{key.name}") FROM "{table.name}"), 0) + 1, false)'
                ),
                {"table": table.name, "column": key.name},
            )
        elif dialect in ("mysql", "mariadb"):
            largest = connection.execute(select(func.max(key))).scalar_one_or_none() or 0
            connection.execute(text(f"ALTER TABLE `{table.name}` AUTO_INCREMENT = {largest + 1}"))
