"""Reads of the file-operation queue and history, and the operator's release and cancel.

Functions on an Engine returning frozen records whose ``to_json()`` is the API's JSON
(tables of :mod:`dynamo.store.schema.fileops`). Contract, on every backend:

- the queue (:func:`queued`: ``current`` subscriptions new / inbatch / retry with their latest
  task, or ``held`` ones with their reason) is listed in subscription id order and paged by
  ``after_id`` (:func:`held_summary` counts the held ones per site and reason); the history
  (:func:`history`) newest first, paged by ``before_id``. A
  :class:`KeysetPage` carries the cursor of the following page in ``next``;
- a ``site`` or ``dataset`` filter is an exact name or a glob with ``*`` and ``?``,
  case-sensitive on every backend;
- :func:`link_rates` sums the history over a window: per link (source -> destination; a
  deletion has no source) the files done and failed, the bytes done, bytes/s and files/h;
- :func:`release` turns held subscriptions ``new`` again, :func:`cancel` marks pending ones
  ``cancelled`` (the manager then cancels their tasks in the backends; the updater removes
  the rows). Both need at least one selector, so that no call touches the whole queue by
  accident, and return how many rows changed;
- a database failure raises StoreError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    and_,
    case,
    func,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import ConfigurationError, StoreError
from dynamo.fileops.ports import OpKind, SubscriptionStatus
from dynamo.store import KeysetPage
from dynamo.store.records import Record
from dynamo.store.schema import blocks, datasets, files
from dynamo.store.schema.fileops import (
    fileop_batches,
    fileop_history,
    fileop_subscriptions,
    fileop_tasks,
)
from dynamo.store.sqlops import chunks, driver_message, reading

__all__ = [
    "HeldCount",
    "HistoryEntry",
    "LinkRate",
    "QueueEntry",
    "QueueState",
    "cancel",
    "held_summary",
    "history",
    "link_rates",
    "queued",
    "release",
]

LARGEST_ID: Final = 2**63 - 1
_ID_CHUNK: Final = 1000
_MYSQL: Final = frozenset({"mysql", "mariadb"})
_ESCAPE: Final = "!"
_CURRENT: Final = (
    SubscriptionStatus.NEW.value,
    SubscriptionStatus.INBATCH.value,
    SubscriptionStatus.RETRY.value,
)
_CANCELLABLE: Final = (*_CURRENT, SubscriptionStatus.HELD.value)


class QueueState(StrEnum):
    """Which subscriptions :func:`queued` lists."""

    CURRENT = "current"
    HELD = "held"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntry(Record):
    """A subscription still to act on; the ``task_*`` fields describe its latest task (None
    when it has none yet): its status, source, backend and start (epoch seconds)."""

    id: int
    kind: str
    lfn: str
    site: str
    dataset: str
    block: str
    size: int
    status: str
    hold_reason: str | None
    origin: str
    origin_id: int | None
    created: int
    updated: int
    task_id: int | None
    task_status: str | None
    source_site: str | None
    backend: str | None
    started: int | None
    exit_code: int | None
    message: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry(Record):
    """A finished task: ``status`` done, failed or cancelled, ``exit_code`` an errno."""

    id: int
    kind: str
    lfn: str
    site: str
    source_site: str | None
    backend: str
    size: int
    status: str
    exit_code: int | None
    message: str | None
    origin: str
    created: int
    started: int | None
    finished: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkRate(Record):
    """A link over ``window`` seconds: files done and failed, bytes done, and the rates."""

    source_site: str | None
    site: str
    files_done: int
    files_failed: int
    bytes_done: int
    bytes_per_second: float
    files_per_hour: float
    window: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldCount(Record):
    """Held subscriptions at ``site`` for ``reason``: how many files, how many bytes."""

    site: str
    reason: str | None
    files: int
    bytes: int


# ---------------------------------------------------------------------- reads


def queued(
    engine: Engine,
    *,
    kind: OpKind,
    state: QueueState = QueueState.CURRENT,
    site: str | None = None,
    dataset: str | None = None,
    reason: str | None = None,
    limit: int = 100,
    after_id: int | None = None,
) -> KeysetPage[QueueEntry]:
    """Subscriptions of ``kind`` in ``state`` (``reason``: held ones for this reason only),
    in id order after ``after_id``."""
    _check_limit(limit)
    subs, tasks, batches = fileop_subscriptions, fileop_tasks, fileop_batches
    latest = (
        select(func.max(tasks.c.id).label("task_id"), tasks.c.subscription_id)
        .group_by(tasks.c.subscription_id)
        .subquery()
    )
    statuses = _CURRENT if state is QueueState.CURRENT else (SubscriptionStatus.HELD.value,)
    query = (
        select(
            *(subs.c[name] for name in _QUEUE_COLUMNS),
            tasks.c.id.label("task_id"),
            tasks.c.status.label("task_status"),
            tasks.c.source_site,
            batches.c.backend,
            tasks.c.started,
            tasks.c.exit_code,
            tasks.c.message,
        )
        .select_from(
            subs.outerjoin(latest, latest.c.subscription_id == subs.c.id)
            .outerjoin(tasks, tasks.c.id == latest.c.task_id)
            .outerjoin(batches, batches.c.id == tasks.c.batch_id)
        )
        .where(subs.c.kind == kind.value, subs.c.status.in_(statuses))
        .order_by(subs.c.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        if after_id >= LARGEST_ID:
            return KeysetPage((), None)
        query = query.where(subs.c.id > after_id)
    query = _filtered(engine, query, subs.c.site, site)
    query = _filtered(engine, query, subs.c.dataset, dataset)
    if reason is not None:
        query = query.where(subs.c.hold_reason == reason)
    with reading(engine, "listing the file-operation queue") as conn:
        rows = conn.execute(query).all()
    return _page([QueueEntry(**row._mapping) for row in rows], limit)


_QUEUE_COLUMNS: Final = (
    "id",
    "kind",
    "lfn",
    "site",
    "dataset",
    "block",
    "size",
    "status",
    "hold_reason",
    "origin",
    "origin_id",
    "created",
    "updated",
)


def history(
    engine: Engine,
    *,
    kind: OpKind,
    site: str | None = None,
    source_site: str | None = None,
    dataset: str | None = None,
    since: int | None = None,
    status: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> KeysetPage[HistoryEntry]:
    """Finished tasks of ``kind``, newest first, finished at or after ``since``. The history
    has no dataset column: ``dataset`` selects the LFNs the inventory's ``files`` table gives
    the dataset (the tasks of files no longer registered do not match it)."""
    _check_limit(limit)
    table = fileop_history
    query = (
        select(table).where(table.c.kind == kind.value).order_by(table.c.id.desc()).limit(limit + 1)
    )
    if before_id is not None:
        query = query.where(table.c.id < max(min(before_id, LARGEST_ID), 0))
    query = _filtered(engine, query, table.c.site, site)
    query = _filtered(engine, query, table.c.source_site, source_site)
    if dataset is not None:
        of_dataset = (
            select(files.c.lfn)
            .select_from(files.join(blocks).join(datasets))
            .where(_matches(engine, datasets.c.name, dataset))
        )
        query = query.where(table.c.lfn.in_(of_dataset))
    if since is not None:
        query = query.where(table.c.finished >= since)
    if status is not None:
        query = query.where(table.c.status == status)
    with reading(engine, "listing the file-operation history") as conn:
        rows = conn.execute(query).all()
    return _page([HistoryEntry(**row._mapping) for row in rows], limit)


def link_rates(
    engine: Engine,
    *,
    kind: OpKind,
    now: int,
    window: int = 3600,
    site: str | None = None,
) -> list[LinkRate]:
    """Per link, the tasks of ``kind`` finished in the ``window`` seconds before ``now``,
    by source then destination (a deletion's source is None, listed first)."""
    if window < 1:
        raise ConfigurationError(f"the window must be at least 1 s, got {window}")
    table = fileop_history
    done = table.c.status == "done"
    query = (
        select(
            table.c.source_site,
            table.c.site,
            func.sum(case((done, 1), else_=0)).label("files_done"),
            func.sum(case((table.c.status == "failed", 1), else_=0)).label("files_failed"),
            func.sum(case((done, table.c.size), else_=0)).label("bytes_done"),
        )
        .where(
            table.c.kind == kind.value,
            table.c.finished > now - window,
            table.c.finished <= now,
        )
        .group_by(table.c.source_site, table.c.site)
    )
    query = _filtered(engine, query, table.c.site, site)
    with reading(engine, "summing the file-operation history") as conn:
        rows = conn.execute(query).all()
    rates = [
        LinkRate(
            source_site=row.source_site,
            site=row.site,
            files_done=int(row.files_done or 0),
            files_failed=int(row.files_failed or 0),
            bytes_done=int(row.bytes_done or 0),
            bytes_per_second=int(row.bytes_done or 0) / window,
            files_per_hour=int(row.files_done or 0) * 3600 / window,
            window=window,
        )
        for row in rows
    ]
    return sorted(rates, key=lambda r: (r.source_site or "", r.source_site is not None, r.site))


def held_summary(engine: Engine, *, kind: OpKind, site: str | None = None) -> list[HeldCount]:
    """Held subscriptions of ``kind`` counted per site and reason, by site then reason."""
    subs = fileop_subscriptions
    query = (
        select(
            subs.c.site,
            subs.c.hold_reason,
            func.count().label("files"),
            func.sum(subs.c.size).label("bytes"),
        )
        .where(subs.c.kind == kind.value, subs.c.status == SubscriptionStatus.HELD.value)
        .group_by(subs.c.site, subs.c.hold_reason)
    )
    query = _filtered(engine, query, subs.c.site, site)
    with reading(engine, "counting held subscriptions") as conn:
        rows = conn.execute(query).all()
    counts = [
        HeldCount(site=r.site, reason=r.hold_reason, files=int(r.files), bytes=int(r.bytes or 0))
        for r in rows
    ]
    return sorted(counts, key=lambda c: (c.site, c.reason or ""))


# ---------------------------------------------------------------------- operator actions


def release(
    engine: Engine,
    *,
    now: int,
    ids: Sequence[int] = (),
    site: str | None = None,
    reason: str | None = None,
    kind: OpKind | None = None,
) -> int:
    """Release the held subscriptions selected (``new``, no reason); returns how many."""
    subs = fileop_subscriptions
    where = [subs.c.status == SubscriptionStatus.HELD.value]
    if reason is not None:
        where.append(subs.c.hold_reason == reason)
    statements = [
        update(subs)
        .where(*where, *selected)
        .values(status=SubscriptionStatus.NEW.value, hold_reason=None, updated=now)
        for selected in _selections(engine, ids=ids, site=site, dataset=None, kind=kind)
    ]
    return _writing(engine, "releasing subscriptions", statements)


def cancel(
    engine: Engine,
    *,
    now: int,
    ids: Sequence[int] = (),
    dataset: str | None = None,
    site: str | None = None,
    kind: OpKind | None = None,
) -> int:
    """Cancel the pending subscriptions selected (new, inbatch, retry, held); returns how
    many. Done ones are history and stay as they are."""
    subs = fileop_subscriptions
    statements = [
        update(subs)
        .where(subs.c.status.in_(_CANCELLABLE), *selected)
        .values(status=SubscriptionStatus.CANCELLED.value, updated=now)
        for selected in _selections(engine, ids=ids, site=site, dataset=dataset, kind=kind)
    ]
    return _writing(engine, "cancelling subscriptions", statements)


def _selections(
    engine: Engine,
    *,
    ids: Sequence[int],
    site: str | None,
    dataset: str | None,
    kind: OpKind | None,
) -> list[list[ColumnElement[bool]]]:
    """The conditions of each statement: one per chunk of ``ids`` (one if no ids)."""
    subs = fileop_subscriptions
    where: list[ColumnElement[bool]] = []
    if site is not None:
        where.append(_matches(engine, subs.c.site, site))
    if dataset is not None:
        where.append(_matches(engine, subs.c.dataset, dataset))
    if not where and not ids:
        raise ConfigurationError("select subscriptions by id, site or dataset")
    if kind is not None:
        where.append(subs.c.kind == kind.value)
    if not ids:
        return [where]
    valid = sorted({i for i in ids if 0 < i <= LARGEST_ID}) or [0]
    return [[*where, subs.c.id.in_(batch)] for batch in chunks(valid, _ID_CHUNK)]


# ---------------------------------------------------------------------- helpers


def _writing(engine: Engine, what: str, statements: Sequence[Any]) -> int:
    """Run ``statements`` in one transaction; the rows they changed."""
    try:
        with engine.begin() as conn:
            return sum(int(conn.execute(statement).rowcount) for statement in statements)
    except SQLAlchemyError as exc:
        raise StoreError(f"{what} failed: {driver_message(exc)}") from exc


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ConfigurationError(f"limit must be at least 1, got {limit}")


def _page(items: list[Any], limit: int) -> KeysetPage[Any]:
    if len(items) > limit:
        return KeysetPage(tuple(items[:limit]), items[limit - 1].id)
    return KeysetPage(tuple(items), None)


def _filtered(engine: Engine, query: Any, column: Column[Any], pattern: str | None) -> Any:
    return query if pattern is None else query.where(_matches(engine, column, pattern))


def _matches(engine: Engine, column: Column[Any], pattern: str) -> ColumnElement[bool]:
    """``column`` equals ``pattern``, or matches it as a glob (``*``, ``?``), case-sensitively."""
    if "*" not in pattern and "?" not in pattern:
        if engine.dialect.name in _MYSQL:
            return and_(column == pattern, column.collate("utf8mb4_bin") == pattern)
        return column == pattern
    return _like(engine, column, pattern)


def _like(engine: Engine, column: Column[Any], pattern: str) -> ColumnElement[bool]:
    if engine.dialect.name == "sqlite":
        return column.op("GLOB", is_comparison=True)(pattern.replace("[", "[[]"))
    like = "".join(_LIKE_OF.get(char, char) for char in pattern)
    if engine.dialect.name in _MYSQL:
        return column.collate("utf8mb4_bin").like(like, escape=_ESCAPE)
    return column.like(like, escape=_ESCAPE)


_LIKE_OF: Final = {"*": "%", "?": "_", "%": _ESCAPE + "%", "_": _ESCAPE + "_", _ESCAPE: _ESCAPE * 2}
