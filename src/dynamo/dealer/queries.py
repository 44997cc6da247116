"""Reads of the Dealer history for the API and the CLI: cycles newest first, a cycle's copies
in id order; both paged by id (keyset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Engine, Row, select

from dynamo.errors import NotFoundError
from dynamo.store import KeysetPage
from dynamo.store.records import Record
from dynamo.store.schema.dealer import dealer_copies, dealer_cycles
from dynamo.store.sqlops import reading

__all__ = ["CopyRow", "DealerCycle", "cycle_copies", "get_cycle", "list_cycles"]

_LARGEST_ID: Final = 2**63 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DealerCycle(Record):
    """A cycle; times are epoch seconds."""

    id: int
    partition: str
    mode: str
    status: str
    started: int
    finished: int | None
    seed: int
    run_id: int | None
    log_seq: int | None
    summary: dict[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyRow(Record):
    """A proposal a cycle examined, accepted or rejected."""

    id: int
    plugin: str
    priority: int
    dataset: str
    block: str | None
    site: str | None
    group: str | None
    size: int
    reason: str
    status: str
    reject_reason: str | None
    request_id: int | None


_CYCLE = [dealer_cycles.c[name] for name in DealerCycle.__dataclass_fields__]
_COPY = [dealer_copies.c[name] for name in CopyRow.__dataclass_fields__]


def list_cycles(
    engine: Engine,
    *,
    partition: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> KeysetPage[DealerCycle]:
    """Cycles newest first (older than ``before_id`` if given)."""
    query = select(*_CYCLE).order_by(dealer_cycles.c.id.desc()).limit(limit + 1)
    if partition is not None:
        query = query.where(dealer_cycles.c.partition == partition)
    if before_id is not None:
        query = query.where(dealer_cycles.c.id < min(before_id, _LARGEST_ID))
    with reading(engine, "listing Dealer cycles") as conn:
        items = [_cycle(row) for row in conn.execute(query)]
    return _page(items, limit)


def get_cycle(engine: Engine, cycle_id: int) -> DealerCycle:
    """One cycle (NotFoundError)."""
    with reading(engine, f"reading Dealer cycle {cycle_id}") as conn:
        row = conn.execute(select(*_CYCLE).where(dealer_cycles.c.id == cycle_id)).first()
    if row is None:
        raise NotFoundError(f"no Dealer cycle with id {cycle_id}")
    return _cycle(row)


def cycle_copies(
    engine: Engine,
    cycle_id: int,
    *,
    status: str | None = None,
    limit: int = 1000,
    after_id: int | None = None,
) -> KeysetPage[CopyRow]:
    """The proposals of a cycle in id order (NotFoundError for an unknown cycle); ``next`` is
    the ``after_id`` of the following page."""
    get_cycle(engine, cycle_id)
    query = (
        select(*_COPY)
        .where(dealer_copies.c.cycle_id == cycle_id)
        .order_by(dealer_copies.c.id)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(dealer_copies.c.status == status)
    if after_id is not None:
        query = query.where(dealer_copies.c.id > min(after_id, _LARGEST_ID))
    with reading(engine, f"reading the copies of Dealer cycle {cycle_id}") as conn:
        items = [CopyRow(**row._asdict()) for row in conn.execute(query)]
    return _page(items, limit)


def _cycle(row: Row[Any]) -> DealerCycle:
    values = row._asdict()
    summary = values.pop("summary")
    return DealerCycle(**values, summary=None if summary is None else orjson.loads(summary))


def _page(items: list[Any], limit: int) -> KeysetPage[Any]:
    if len(items) > limit:
        return KeysetPage(tuple(items[:limit]), int(items[limit - 1].id))
    return KeysetPage(tuple(items), None)
