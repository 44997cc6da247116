"""SQL primitives shared by the store and the applications' history: chunked upserts, id
resolution by natural key, reads that fail as StoreError.

Upserts use each dialect's own statement (``ON CONFLICT DO UPDATE`` on PostgreSQL and SQLite,
``ON DUPLICATE KEY UPDATE`` on MariaDB/MySQL) executed with executemany, in chunks. Natural
keys are resolved to ids with ``WHERE name IN (...)`` in chunks, never one query per row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Table,
    any_,
    bindparam,
    select,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import StoreError
from dynamo.store import schema

__all__ = [
    "IN_CHUNK",
    "ROW_CHUNK",
    "block_ids",
    "chunks",
    "driver_message",
    "ids_by_name",
    "reading",
    "upsert",
]

IN_CHUNK: Final = 1_000
"""Values per ``IN (...)`` list: far below every backend's bound-parameter limit."""
ROW_CHUNK: Final = 10_000
"""Rows per executemany call."""

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def upsert(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``, or update every non-key column of the rows whose ``keys`` exist."""
    if not rows:
        return
    columns = [name for name in rows[0] if name not in keys]
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = mysql.insert(table)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in columns})
    for batch in chunks(rows, ROW_CHUNK):
        conn.execute(stmt, batch)


def ids_by_name(conn: Connection, table: Table, names: Iterable[str]) -> dict[str, int]:
    """``{name: id}`` for the names that exist in ``table`` (groups, sites, datasets, ...)."""
    found: dict[str, int] = {}
    for batch in chunks(set(names), IN_CHUNK):
        query = select(table.c.name, table.c.id).where(table.c.name.in_(batch))
        found.update((name, id_) for name, id_ in conn.execute(query))
    return found


def block_ids(
    conn: Connection, keys: Iterable[tuple[str, str]], dataset_ids: Mapping[str, int]
) -> dict[tuple[str, str], int]:
    """``{(dataset, block): id}`` for the blocks that exist; datasets must be in dataset_ids."""
    wanted: defaultdict[int, set[str]] = defaultdict(set)
    names_of: dict[int, str] = {}
    for dataset, block in keys:
        dataset_id = dataset_ids.get(dataset)
        if dataset_id is not None:
            wanted[dataset_id].add(block)
            names_of[dataset_id] = dataset
    found: dict[tuple[str, str], int] = {}
    blocks = schema.blocks
    pairs = ((d, b) for d, names in wanted.items() for b in names)
    for batch in chunks(pairs, IN_CHUNK):
        query = select(blocks.c.dataset_id, blocks.c.name, blocks.c.id).where(
            blocks.c.dataset_id.in_({d for d, _ in batch}),
            blocks.c.name.in_({b for _, b in batch}),
        )
        for dataset_id, name, id_ in conn.execute(query):
            if name in wanted[dataset_id]:
                found[(names_of[dataset_id], name)] = id_
    return found


def is_any_of(conn: Connection, column: Column[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter however many
    values (a query with thousands of IN parameters takes longer to plan than to run)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def lookup_chunk(conn: Connection) -> int:
    """How many values one membership query may carry on this backend."""
    return 50_000 if conn.dialect.name == "postgresql" else IN_CHUNK


def driver_message(exc: SQLAlchemyError) -> str:
    """The first line of what the database driver said (not SQLAlchemy's whole statement)."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


@contextmanager
def reading(engine: Engine, what: str) -> Iterator[Connection]:
    """A connection in a transaction; a database failure is a StoreError "``what`` failed"."""
    try:
        with engine.connect() as conn, conn.begin():
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"{what} failed: {driver_message(exc)}") from exc
