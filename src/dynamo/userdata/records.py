"""The user-data tables in SQL (``userdata_datasets``, ``userdata_imports``) and the name
checks that read the inventory's ``files`` table.

Reads take an Engine and fail as StoreError; writes take the Connection of the caller's
transaction (usually the side write of an inventory commit), so that a record and the
inventory change it describes commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, insert, literal, select, union_all, update

from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe_block
from dynamo.store.schema import files
from dynamo.store.schema.userdata import userdata_datasets, userdata_imports
from dynamo.store.sqlops import reading

__all__ = [
    "ORIGIN",
    "DatasetRecord",
    "ImportRecord",
    "ImportStatus",
    "add_dataset",
    "add_imports",
    "finish_import",
    "imports_of",
    "lfn_holder",
    "names_state",
    "pending_imports",
    "read_dataset",
    "read_datasets",
    "read_datasets_named",
    "subscribe_blocks",
    "update_dataset",
]

ORIGIN = "userdata"
"""The ``origin`` of the file-operation subscriptions user data makes."""

_ds = userdata_datasets
_im = userdata_imports


class ImportStatus(StrEnum):
    NEW = "new"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class DatasetRecord:
    name: str
    owner: str
    created: int
    completed: int | None = None
    target_site: str | None = None
    subscribed: int | None = None
    consolidated: int | None = None
    deleted: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportRecord:
    id: int
    dataset: str
    lfn: str
    site: str
    owner: str
    source_url: str
    size: int | None
    adler32: str | None
    status: ImportStatus
    message: str | None
    created: int
    updated: int


def _dataset(row: Any) -> DatasetRecord:
    return DatasetRecord(**dict(row._mapping))


def _import(row: Any) -> ImportRecord:
    values = dict(row._mapping)
    values["status"] = ImportStatus(values["status"])
    return ImportRecord(**values)


def read_dataset(engine: Engine, name: str) -> DatasetRecord | None:
    with reading(engine, "user datasets") as conn:
        row = conn.execute(select(_ds).where(_ds.c.name == name)).first()
    return None if row is None else _dataset(row)


def read_datasets(engine: Engine, *, owner: str | None = None) -> list[DatasetRecord]:
    """The user datasets (of ``owner``), by name."""
    query = select(_ds).order_by(_ds.c.name)
    if owner is not None:
        query = query.where(_ds.c.owner == owner)
    with reading(engine, "user datasets") as conn:
        return [_dataset(row) for row in conn.execute(query)]


def read_datasets_named(engine: Engine, names: Sequence[str]) -> dict[str, DatasetRecord]:
    """The records of those of ``names`` that are user datasets."""
    with reading(engine, "user datasets") as conn:
        rows = conn.execute(select(_ds).where(_ds.c.name.in_(names)))
        return {row.name: _dataset(row) for row in rows}


def add_dataset(conn: Connection, name: str, owner: str, now: int) -> None:
    """Record a new user dataset (nothing if it is recorded already)."""
    if conn.execute(select(_ds.c.name).where(_ds.c.name == name)).first() is None:
        conn.execute(insert(_ds).values(name=name, owner=owner, created=now))


def update_dataset(conn: Connection, name: str, **values: int | str | None) -> None:
    conn.execute(update(_ds).where(_ds.c.name == name).values(**values))


def lfn_holder(engine: Engine, lfns: Sequence[str]) -> dict[str, str]:
    """Which of ``lfns`` are taken, and by what: ``registered`` or ``being imported``."""
    with reading(engine, "file names") as conn:
        return _taken(conn, lfns)


def names_state(
    engine: Engine, dataset: str, lfns: Sequence[str]
) -> tuple[DatasetRecord | None, dict[str, str]]:
    """The record of ``dataset`` and which of ``lfns`` are taken (see :func:`lfn_holder`),
    read in one transaction."""
    with reading(engine, "user datasets") as conn:
        row = conn.execute(select(_ds).where(_ds.c.name == dataset)).first()
        return (None if row is None else _dataset(row)), _taken(conn, lfns)


def _taken(conn: Connection, lfns: Sequence[str]) -> dict[str, str]:
    registered = select(files.c.lfn, literal("registered").label("holder")).where(
        files.c.lfn.in_(lfns)
    )
    importing = select(_im.c.lfn, literal("being imported").label("holder")).where(
        _im.c.lfn.in_(lfns), _im.c.status == str(ImportStatus.NEW)
    )
    taken: dict[str, str] = {}
    for lfn, holder in conn.execute(union_all(registered, importing)):
        if taken.get(lfn) != "registered":
            taken[lfn] = holder
    return taken


def add_imports(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    conn.execute(insert(_im), list(rows))


def pending_imports(engine: Engine, *, limit: int = 100) -> list[ImportRecord]:
    query = select(_im).where(_im.c.status == str(ImportStatus.NEW)).order_by(_im.c.id)
    with reading(engine, "imports") as conn:
        return [_import(row) for row in conn.execute(query.limit(limit))]


def imports_of(engine: Engine, *, dataset: str) -> list[ImportRecord]:
    query = select(_im).where(_im.c.dataset == dataset).order_by(_im.c.id)
    with reading(engine, "imports") as conn:
        return [_import(row) for row in conn.execute(query)]


def finish_import(
    conn: Connection, import_id: int, status: ImportStatus, message: str | None, now: int
) -> None:
    conn.execute(
        update(_im)
        .where(_im.c.id == import_id)
        .values(status=str(status), message=message, updated=now)
    )


def subscribe_blocks(
    conn: Connection,
    kind: OpKind,
    dataset: str,
    placements: Iterable[tuple[str, str]],
    now: int,
) -> int:
    """Subscribe every file of each (block, site); returns the subscriptions created or
    revived."""
    count = 0
    for block, site in placements:
        summary = subscribe_block(conn, kind, dataset, block, site, origin=ORIGIN, now=now)
        count += summary.created + summary.revived
    return count
