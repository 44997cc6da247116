"""Transfers and deletions of files: the queue, held subscriptions, history, rates; release
and cancel.

``GET /transfers`` and ``GET /deletions`` list, by ``state``: ``current`` subscriptions (new,
in a batch, to retry) with their latest task, ``held`` ones with the reason, or the
``history`` of finished tasks (newest first, ``since`` and ``status`` filters). The queue is
paged with ``after``, the history with ``before``: each the ``next`` of the page before.
``GET /transfers/rates`` and ``GET /deletions/rates`` sum the history per link over
``window`` seconds; ``GET /transfers/held`` and ``GET /deletions/held`` count the held
subscriptions per site and reason. Reads are public. ``POST .../release`` (held -> new) and
``POST .../cancel`` (pending -> cancelled; the manager cancels the tasks, the updater removes
the rows) need the operator role on ``inventory`` and at least one selector. A server whose
inventory is not in a database has no queue (404). These are the file-level operations; the
block replicas a Detox cycle queued are under ``/detox/cycles/{id}/deletions``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy import Engine
from starlette.responses import Response

from dynamo.api.deps import IntParam, database_of
from dynamo.api.registry import Now
from dynamo.api.security import Principal, Role, Target, require
from dynamo.api.views import RecordView, StrictModel
from dynamo.fileops.ports import HoldReason, OpKind
from dynamo.fileops.queries import (
    HeldCount,
    HistoryEntry,
    LinkRate,
    QueueEntry,
    QueueState,
    cancel,
    held_summary,
    history,
    link_rates,
    queued,
    release,
)
from dynamo.registry import MAX_ID

__all__ = ["router"]

router = APIRouter(tags=["transfers"])

JSON: Final = "application/json"

Operator = Annotated[Principal, Depends(require(Target.INVENTORY, Role.OPERATOR))]
SiteFilter = Annotated[str | None, Query(max_length=64, description="Site name or glob.")]
DatasetFilter = Annotated[
    str | None, Query(max_length=512, description="Dataset name or glob (* and ?).")
]
After = Annotated[IntParam | None, Query(ge=0, le=MAX_ID, description="`next` of the page before.")]
Before = Annotated[
    IntParam | None, Query(ge=1, le=MAX_ID, description="`next` of the page before.")
]
Limit = Annotated[IntParam, Query(ge=1, le=10_000, description="Rows per page.")]
Since = Annotated[IntParam | None, Query(ge=0, le=MAX_ID, description="History from (epoch s).")]
Window = Annotated[IntParam, Query(ge=1, le=366 * 86_400, description="Seconds summed.")]


class State(StrEnum):
    CURRENT = "current"
    HELD = "held"
    HISTORY = "history"


class TaskOutcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


Queue = Annotated[Engine, Depends(database_of("file-operation queue"))]


class QueueEntryView(RecordView, record=QueueEntry, types={"kind": OpKind}):
    """A subscription to act on; ``task_*``, ``source_site``, ``backend``, ``started``,
    ``exit_code`` and ``message`` describe its latest task (null without one)."""


class HistoryEntryView(RecordView, record=HistoryEntry, types={"kind": OpKind}):
    """A finished task; ``exit_code`` is an errno (0 done, -1 unknown)."""


class FileOpPage(StrictModel):
    """Queue entries (``current``, ``held``) or history entries; ``next`` is the cursor of
    the following page (``after`` for the queue, ``before`` for the history)."""

    items: list[QueueEntryView] | list[HistoryEntryView]
    next: int | None


class LinkRateView(RecordView, record=LinkRate):
    """A link (no source for deletions) over ``window`` seconds."""


class HeldCountView(RecordView, record=HeldCount):
    """Held subscriptions at a site for one reason."""


Ids = Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=100_000)]


class ReleaseIn(StrictModel):
    """Which held subscriptions to release: by ``ids``, ``site`` (a glob) and ``reason``;
    ``ids`` or ``site`` is required."""

    ids: Ids = []
    site: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    reason: HoldReason | None = None


class CancelIn(StrictModel):
    """Which pending subscriptions to cancel: by ``ids``, ``dataset`` and ``site`` (globs);
    at least one is required."""

    ids: Ids = []
    dataset: Annotated[str | None, Field(min_length=1, max_length=512)] = None
    site: Annotated[str | None, Field(min_length=1, max_length=64)] = None


class Changed(StrictModel):
    """How many subscriptions changed."""

    count: int


async def _json(build: Callable[[], Any]) -> Response:
    body = await asyncio.to_thread(lambda: orjson.dumps(build()))
    return Response(body, media_type=JSON)


@dataclass(frozen=True, slots=True)
class Listing:
    """The query of ``GET /transfers`` and ``GET /deletions``."""

    state: State = State.CURRENT
    site: SiteFilter = None
    dataset: DatasetFilter = None
    since: Since = None
    status: TaskOutcome | None = None
    reason: HoldReason | None = None
    limit: Limit = 100
    after: After = None
    before: Before = None


async def _listing(engine: Engine, kind: OpKind, query: Listing) -> Response:
    def build() -> dict[str, Any]:
        if query.state is State.HISTORY:
            page: Any = history(
                engine,
                kind=kind,
                site=query.site,
                dataset=query.dataset,
                since=query.since,
                status=None if query.status is None else query.status.value,
                limit=query.limit,
                before_id=query.before,
            )
        else:
            page = queued(
                engine,
                kind=kind,
                state=QueueState(query.state.value),
                site=query.site,
                dataset=query.dataset,
                reason=None if query.reason is None else query.reason.value,
                limit=query.limit,
                after_id=query.after,
            )
        return {"items": [entry.to_json() for entry in page.items], "next": page.next}

    return await _json(build)


@router.get("/transfers", response_model=FileOpPage)
async def list_transfers(queue: Queue, query: Annotated[Listing, Depends()]) -> Response:
    """File transfers: ``current`` (with the latest task), ``held`` (``reason``) or
    ``history`` (``since``, ``status``); by destination ``site`` and ``dataset``."""
    return await _listing(queue, OpKind.TRANSFER, query)


@router.get("/deletions", response_model=FileOpPage)
async def list_deletions(queue: Queue, query: Annotated[Listing, Depends()]) -> Response:
    """File deletions, as ``GET /transfers`` lists transfers."""
    return await _listing(queue, OpKind.DELETION, query)


@router.get("/transfers/rates", response_model=list[LinkRateView])
async def transfer_rates(
    queue: Queue, now: Now, window: Window = 3600, site: SiteFilter = None
) -> Response:
    """Per link (source -> destination ``site``): files done and failed, bytes done, bytes/s
    and files/h over the last ``window`` seconds."""
    return await _json(
        lambda: [
            r.to_json()
            for r in link_rates(queue, kind=OpKind.TRANSFER, now=now, window=window, site=site)
        ]
    )


@router.get("/deletions/rates", response_model=list[LinkRateView])
async def deletion_rates(
    queue: Queue, now: Now, window: Window = 3600, site: SiteFilter = None
) -> Response:
    """Per site: files deleted and failed, bytes and rates over the last ``window`` s."""
    return await _json(
        lambda: [
            r.to_json()
            for r in link_rates(queue, kind=OpKind.DELETION, now=now, window=window, site=site)
        ]
    )


@router.get("/transfers/held", response_model=list[HeldCountView])
async def held_transfers(queue: Queue, site: SiteFilter = None) -> Response:
    """Held transfers counted per destination site and reason (the list: ``state=held``)."""
    return await _json(
        lambda: [c.to_json() for c in held_summary(queue, kind=OpKind.TRANSFER, site=site)]
    )


@router.get("/deletions/held", response_model=list[HeldCountView])
async def held_deletions(queue: Queue, site: SiteFilter = None) -> Response:
    """Held deletions counted per site and reason."""
    return await _json(
        lambda: [c.to_json() for c in held_summary(queue, kind=OpKind.DELETION, site=site)]
    )


async def _release(engine: Engine, kind: OpKind, body: ReleaseIn, now: int) -> Changed:
    reason = None if body.reason is None else body.reason.value
    count = await asyncio.to_thread(
        lambda: release(engine, now=now, ids=body.ids, site=body.site, reason=reason, kind=kind)
    )
    return Changed(count=count)


async def _cancel(engine: Engine, kind: OpKind, body: CancelIn, now: int) -> Changed:
    count = await asyncio.to_thread(
        lambda: cancel(
            engine, now=now, ids=body.ids, dataset=body.dataset, site=body.site, kind=kind
        )
    )
    return Changed(count=count)


@router.post("/transfers/release", response_model=Changed)
async def release_transfers(body: ReleaseIn, caller: Operator, queue: Queue, now: Now) -> Changed:
    """Release held transfers (they go back to source selection)."""
    return await _release(queue, OpKind.TRANSFER, body, now)


@router.post("/transfers/cancel", response_model=Changed)
async def cancel_transfers(body: CancelIn, caller: Operator, queue: Queue, now: Now) -> Changed:
    """Cancel pending transfers; done ones stay done."""
    return await _cancel(queue, OpKind.TRANSFER, body, now)


@router.post("/deletions/release", response_model=Changed)
async def release_deletions(body: ReleaseIn, caller: Operator, queue: Queue, now: Now) -> Changed:
    """Release held deletions."""
    return await _release(queue, OpKind.DELETION, body, now)


@router.post("/deletions/cancel", response_model=Changed)
async def cancel_deletions(body: CancelIn, caller: Operator, queue: Queue, now: Now) -> Changed:
    """Cancel pending deletions."""
    return await _cancel(queue, OpKind.DELETION, body, now)
