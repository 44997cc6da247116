"""Reads of the Detox history: cycles, their sites, policy lines, decisions and deletions.

:mod:`dynamo.detox.history` writes the tables of migration 0005 (:mod:`dynamo.store.schema.detox`);
this module only reads them, with functions on an Engine that return frozen records whose
``to_json()`` is the API's JSON. Contract (every backend):

- cycles are listed newest first (highest id first) and paged by ``before_id``; decisions and
  queued deletions are listed in id order and paged by ``after_id``. A :class:`KeysetPage`
  carries the cursor of the following page in ``next`` (None on the last page);
- every read of one cycle raises NotFoundError when the cycle does not exist (an id outside
  1..2**63-1 never does);
- a name filter is an exact name or a glob with ``*`` and ``?``, case-sensitive everywhere
  (MariaDB compares in ``utf8mb4_bin``, SQLite globs with ``GLOB``);
- a database failure raises StoreError.

Calls are synchronous and short; the API runs them in a worker thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Generic, TypeVar

import orjson
from sqlalchemy import Column, ColumnElement, Connection, Engine, Row, and_, func, select

from dynamo.errors import NotFoundError, StoreError
from dynamo.store.records import Record, field_names
from dynamo.store.schema.detox import (
    detox_cycle_lines,
    detox_cycle_sites,
    detox_cycles,
    detox_decisions,
    replica_deletions,
)
from dynamo.store.sqlops import reading

__all__ = [
    "CycleDecision",
    "CycleDeletion",
    "CycleLine",
    "CycleMode",
    "CyclePolicy",
    "CycleSite",
    "CycleStatus",
    "DetoxCycle",
    "KeysetPage",
    "SiteHistoryPoint",
    "Verdict",
    "cycle_decisions",
    "cycle_deletions",
    "cycle_lines",
    "cycle_policy",
    "cycle_sites",
    "get_cycle",
    "iter_decisions",
    "latest_cycles",
    "list_cycles",
    "site_history",
]

T = TypeVar("T")
R = TypeVar("R", bound=Record)

_LARGEST_ID: Final = 2**63 - 1  # a signed 64-bit id in every database
_MYSQL: Final = frozenset({"mysql", "mariadb"})
_LIKE_ESCAPE: Final = "!"


class CycleMode(StrEnum):
    RUN = "run"
    TEST = "test"


class CycleStatus(StrEnum):
    PLANNED = "planned"
    COMMITTED = "committed"
    TEST = "test"
    ABANDONED = "abandoned"
    FAILED = "failed"


class Verdict(StrEnum):
    """What a cycle decided for block replicas (the values of ``dynamo.detox.plan.Verdict``)."""

    DELETE = "delete"
    KEEP = "keep"
    PROTECT = "protect"


@dataclass(frozen=True, slots=True, kw_only=True)
class DetoxCycle(Record):
    """One cycle of one partition; times are epoch seconds. ``policy_error`` says why the
    cycle ran with the last good policy instead of the file as it is now."""

    id: int
    partition: str
    mode: CycleMode
    status: CycleStatus
    started: int
    finished: int | None
    policy_file: str | None
    policy_hash: str
    policy_error: str | None
    seed: int
    run_id: int | None
    log_seq: int | None
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleSite(Record):
    """A target site of a cycle; occupancies are fractions of the quota (inf: zero quota,
    which JSON cannot say: null there)."""

    site: str
    status: str
    quota_bytes: int
    occupancy_before: float
    occupancy_after: float
    triggered: bool
    protected_bytes: int
    kept_bytes: int
    deleted_bytes: int
    stop_reason: str | None

    def to_json(self) -> dict[str, Any]:
        values = Record.to_json(self)
        values["occupancy_before"] = _finite(self.occupancy_before)
        values["occupancy_after"] = _finite(self.occupancy_after)
        return values


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleLine(Record):
    """A policy line of a cycle: ``line_id`` its index (-1: the last-copy safety rule),
    ``line_number`` its 1-based line in the file, ``matched`` how many decisions it made."""

    line_id: int
    line_number: int
    action: str
    text: str
    matched: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CyclePolicy(Record):
    """The policy a cycle ran with: the file, its text and sha256, and its lines."""

    cycle_id: int
    partition: str
    file: str | None
    hash: str
    error: str | None
    text: str
    lines: tuple[CycleLine, ...]

    def to_json(self) -> dict[str, Any]:
        values = Record.to_json(self)
        values["lines"] = [line.to_json() for line in self.lines]
        return values


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleDecision(Record):
    """``num_blocks`` block replicas (``size`` bytes) of ``dataset`` at ``site`` got
    ``decision`` because of line ``line_id`` (number and text None if the line is not stored)."""

    id: int
    site: str
    dataset: str
    decision: Verdict
    line_id: int
    line_number: int | None
    line_text: str | None
    size: int
    num_blocks: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CycleDeletion(Record):
    """A block replica a cycle queued for deletion; ``status`` is file operations' progress."""

    id: int
    dataset: str
    block: str
    site: str
    size: int
    status: str
    created: int
    updated: int


@dataclass(frozen=True, slots=True)
class SiteHistoryPoint:
    """A site in one committed or test cycle: when, and its occupancy before and after."""

    cycle_id: int
    started: int
    mode: CycleMode
    quota_bytes: int
    occupancy_before: float | None
    occupancy_after: float | None
    deleted_bytes: int


@dataclass(frozen=True, slots=True)
class KeysetPage(Generic[T]):
    """Items of one page; ``next`` is the cursor (an id) of the following page, None if last."""

    items: tuple[T, ...]
    next: int | None


# ---------------------------------------------------------------------- cycles


def list_cycles(
    engine: Engine,
    *,
    partition: str | None = None,
    status: CycleStatus | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> KeysetPage[DetoxCycle]:
    """Cycles newest first, of one partition and in one status if given, older than
    ``before_id`` if given; ``next`` is the ``before_id`` of the following page."""
    _check_limit(limit)
    query = select(*_CYCLE_COLUMNS).order_by(detox_cycles.c.id.desc()).limit(limit + 1)
    if partition is not None:
        query = query.where(_equals(engine, detox_cycles.c.partition, partition))
    if status is not None:
        query = query.where(detox_cycles.c.status == status.value)
    if before_id is not None and before_id <= _LARGEST_ID:
        query = query.where(detox_cycles.c.id < max(before_id, 0))
    with reading(engine, "listing Detox cycles") as conn:
        rows = conn.execute(query).all()
    return _page([_cycle(row) for row in rows], limit, lambda cycle: cycle.id)


def get_cycle(engine: Engine, cycle_id: int) -> DetoxCycle:
    """One cycle (NotFoundError if there is none with this id)."""
    with reading(engine, f"reading Detox cycle {cycle_id}") as conn:
        return _one_cycle(conn, cycle_id)


def latest_cycles(engine: Engine) -> list[DetoxCycle]:
    """The newest cycle of every partition (of any mode and status), by partition name."""
    newest = select(func.max(detox_cycles.c.id)).group_by(detox_cycles.c.partition)
    query = select(*_CYCLE_COLUMNS).where(detox_cycles.c.id.in_(newest.scalar_subquery()))
    with reading(engine, "reading the latest Detox cycles") as conn:
        rows = conn.execute(query).all()
    # Sorted here, not by ORDER BY: the databases' collations disagree with code points.
    return sorted((_cycle(row) for row in rows), key=lambda cycle: cycle.partition)


def cycle_sites(engine: Engine, cycle_id: int) -> list[CycleSite]:
    """The target sites of a cycle, by name."""
    query = select(detox_cycle_sites).where(detox_cycle_sites.c.cycle_id == cycle_id)
    with reading(engine, f"reading the sites of Detox cycle {cycle_id}") as conn:
        _check_cycle(conn, cycle_id)
        rows = conn.execute(query).all()
    return sorted((_record(CycleSite, row) for row in rows), key=lambda site: site.site)


def site_history(
    engine: Engine, site: str, partition: str, *, limit: int = 500
) -> list[SiteHistoryPoint]:
    """The site's last ``limit`` finished cycles of ``partition``, oldest first (for a chart;
    an infinite occupancy, a zero quota in use, comes back as None)."""
    _check_limit(limit)
    sites, cycles = detox_cycle_sites, detox_cycles
    query = (
        select(
            cycles.c.id,
            cycles.c.started,
            cycles.c.mode,
            sites.c.quota_bytes,
            sites.c.occupancy_before,
            sites.c.occupancy_after,
            sites.c.deleted_bytes,
        )
        .join(cycles, cycles.c.id == sites.c.cycle_id)
        .where(_equals(engine, sites.c.site, site))
        .where(_equals(engine, cycles.c.partition, partition))
        .where(cycles.c.status.in_([CycleStatus.COMMITTED.value, CycleStatus.TEST.value]))
        .order_by(cycles.c.id.desc())
        .limit(limit)
    )
    with reading(engine, f"reading the Detox history of {site}") as conn:
        rows = conn.execute(query).all()
    return [
        SiteHistoryPoint(
            cycle_id=row.id,
            started=row.started,
            mode=CycleMode(row.mode),
            quota_bytes=row.quota_bytes,
            occupancy_before=_stored_occupancy(row.occupancy_before),
            occupancy_after=_stored_occupancy(row.occupancy_after),
            deleted_bytes=row.deleted_bytes,
        )
        for row in reversed(rows)
    ]


def cycle_lines(engine: Engine, cycle_id: int) -> list[CycleLine]:
    """The policy lines of a cycle by ``line_id`` (the safety rule, -1, first)."""
    with reading(engine, f"reading the policy lines of Detox cycle {cycle_id}") as conn:
        _check_cycle(conn, cycle_id)
        return _lines(conn, cycle_id)


def cycle_policy(engine: Engine, cycle_id: int) -> CyclePolicy:
    """The policy a cycle ran with: its text and its lines."""
    columns = (*_CYCLE_COLUMNS, detox_cycles.c.policy_text)
    with reading(engine, f"reading the policy of Detox cycle {cycle_id}") as conn:
        row = _cycle_row(conn, cycle_id, columns)
        lines = _lines(conn, cycle_id)
    return CyclePolicy(
        cycle_id=row.id,
        partition=row.partition,
        file=row.policy_file,
        hash=row.policy_hash,
        error=row.policy_error,
        text=row.policy_text,
        lines=tuple(lines),
    )


# ---------------------------------------------------------------------- decisions, deletions


def cycle_decisions(
    engine: Engine,
    cycle_id: int,
    *,
    site: str | None = None,
    dataset: str | None = None,
    decision: Verdict | None = None,
    limit: int = 1000,
    after_id: int | None = None,
) -> KeysetPage[CycleDecision]:
    """The decisions of a cycle in id order with their policy line, filtered by site and
    dataset (names or globs) and by decision; ``next`` is the ``after_id`` of the next page."""
    _check_limit(limit)
    decisions, lines = detox_decisions, detox_cycle_lines
    query = (
        select(decisions, lines.c.line_number, lines.c.text.label("line_text"))
        .select_from(
            decisions.outerjoin(
                lines,
                and_(
                    lines.c.cycle_id == decisions.c.cycle_id, lines.c.line_id == decisions.c.line_id
                ),
            )
        )
        .where(decisions.c.cycle_id == cycle_id)
        .order_by(decisions.c.id)
        .limit(limit + 1)
    )
    if site is not None:
        query = query.where(_matches(engine, decisions.c.site, site))
    if dataset is not None:
        query = query.where(_matches(engine, decisions.c.dataset, dataset))
    if decision is not None:
        query = query.where(decisions.c.decision == decision.value)
    if after_id is not None:
        query = query.where(decisions.c.id > max(after_id, 0))
    with reading(engine, f"reading the decisions of Detox cycle {cycle_id}") as conn:
        _check_cycle(conn, cycle_id)
        rows = [] if _beyond(after_id) else conn.execute(query).all()
    return _page([_decision(row) for row in rows], limit, lambda found: found.id)


def iter_decisions(
    engine: Engine,
    cycle_id: int,
    *,
    site: str | None = None,
    dataset: str | None = None,
    decision: Verdict | None = None,
    chunk: int = 5000,
    after_id: int | None = None,
) -> Iterator[tuple[CycleDecision, ...]]:
    """Every matching decision of a cycle, ``chunk`` at a time (one short query per chunk, so
    a caller may stream a million rows and pause between chunks). NotFoundError comes with
    the first chunk; a cycle without decisions yields one empty chunk."""
    cursor = after_id
    while True:
        found = cycle_decisions(
            engine,
            cycle_id,
            site=site,
            dataset=dataset,
            decision=decision,
            limit=chunk,
            after_id=cursor,
        )
        yield found.items
        if found.next is None:
            return
        cursor = found.next


def cycle_deletions(
    engine: Engine, cycle_id: int, *, limit: int = 1000, after_id: int | None = None
) -> KeysetPage[CycleDeletion]:
    """The block replicas a cycle queued for deletion, in id order; ``next`` as above."""
    _check_limit(limit)
    query = (
        select(replica_deletions)
        .where(replica_deletions.c.cycle_id == cycle_id)
        .order_by(replica_deletions.c.id)
        .limit(limit + 1)
    )
    if after_id is not None:
        query = query.where(replica_deletions.c.id > max(after_id, 0))
    with reading(engine, f"reading the deletions of Detox cycle {cycle_id}") as conn:
        _check_cycle(conn, cycle_id)
        rows = [] if _beyond(after_id) else conn.execute(query).all()
    return _page([_record(CycleDeletion, row) for row in rows], limit, lambda found: found.id)


# ---------------------------------------------------------------------- helpers

_CYCLE_COLUMNS: Final = tuple(c for c in detox_cycles.c if c.name != "policy_text")


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


def _beyond(after_id: int | None) -> bool:
    """Whether no row can follow ``after_id`` (a larger int cannot even be sent to SQLite)."""
    return after_id is not None and after_id >= _LARGEST_ID


def _page(items: list[T], limit: int, key: Callable[[T], int]) -> KeysetPage[T]:
    if len(items) > limit:
        return KeysetPage(tuple(items[:limit]), key(items[limit - 1]))
    return KeysetPage(tuple(items), None)


def _cycle_row(conn: Connection, cycle_id: int, columns: Sequence[Column[Any]]) -> Row[Any]:
    row = None
    if 1 <= cycle_id <= _LARGEST_ID:
        row = conn.execute(select(*columns).where(detox_cycles.c.id == cycle_id)).first()
    if row is None:
        raise NotFoundError(f"no Detox cycle with id {cycle_id}")
    return row


def _one_cycle(conn: Connection, cycle_id: int) -> DetoxCycle:
    return _cycle(_cycle_row(conn, cycle_id, _CYCLE_COLUMNS))


def _check_cycle(conn: Connection, cycle_id: int) -> None:
    _cycle_row(conn, cycle_id, (detox_cycles.c.id,))


def _lines(conn: Connection, cycle_id: int) -> list[CycleLine]:
    query = (
        select(detox_cycle_lines)
        .where(detox_cycle_lines.c.cycle_id == cycle_id)
        .order_by(detox_cycle_lines.c.line_id)
    )
    return [_record(CycleLine, row) for row in conn.execute(query)]


def _equals(engine: Engine, column: Column[str], name: str) -> ColumnElement[bool]:
    if engine.dialect.name in _MYSQL:
        # The plain comparison uses the index; the binary one makes it case-sensitive.
        return and_(column == name, column.collate("utf8mb4_bin") == name)
    return column == name


def _matches(engine: Engine, column: Column[str], pattern: str) -> ColumnElement[bool]:
    """``column`` equals ``pattern``, or matches it as a glob (``*``, ``?``), case-sensitively."""
    if "*" not in pattern and "?" not in pattern:
        return _equals(engine, column, pattern)
    if engine.dialect.name == "sqlite":
        return column.op("GLOB", is_comparison=True)(pattern.replace("[", "[[]"))
    like = "".join(_LIKE_OF.get(char, char) for char in pattern)
    if engine.dialect.name in _MYSQL:
        return column.collate("utf8mb4_bin").like(like, escape=_LIKE_ESCAPE)
    return column.like(like, escape=_LIKE_ESCAPE)


_LIKE_OF: Final = {
    "*": "%",
    "?": "_",
    "%": _LIKE_ESCAPE + "%",
    "_": _LIKE_ESCAPE + "_",
    _LIKE_ESCAPE: _LIKE_ESCAPE * 2,
}


def _stored_occupancy(value: float | None) -> float | None:
    """An occupancy column: NULL stands for infinity (data on a zero quota)."""
    return None if value is None else _finite(value)


def _finite(value: float) -> float | None:
    """JSON has no infinity: a zero quota with data on it reads as null."""
    return value if math.isfinite(value) else None


def _record(cls: type[R], row: Row[Any], **converted: Any) -> R:
    """A record of the row's columns named as its fields, some ``converted``."""
    values = row._mapping
    return cls(**{name: values[name] for name in field_names(cls)} | converted)


def _cycle(row: Row[Any]) -> DetoxCycle:
    try:
        return _record(
            DetoxCycle,
            row,
            mode=CycleMode(row.mode),
            status=CycleStatus(row.status),
            summary=_summary(row.summary),
        )
    except ValueError as exc:
        raise StoreError(f"Detox cycle {row.id} has an unreadable row: {exc}") from exc


def _summary(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    summary = orjson.loads(text)  # orjson.JSONDecodeError is a ValueError
    if not isinstance(summary, dict):
        raise ValueError(f"the summary is not a JSON object: {text[:80]!r}")
    return summary


def _decision(row: Row[Any]) -> CycleDecision:
    try:
        return _record(CycleDecision, row, decision=Verdict(row.decision))
    except ValueError as exc:
        raise StoreError(f"Detox decision {row.id} has an unknown decision: {exc}") from exc
