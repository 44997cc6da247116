"""Detox history: cycles, their sites, policy, decisions and queued deletions, and the latest
cycle of every partition. Public (anonymous allowed), as the inventory reads are.

The history is in the database (:mod:`dynamo.store.detox_queries`), read in a worker thread
and serialized there, so a page of 100,000 decisions never holds up the event loop. Cycles
are listed newest first and paged with ``before`` (the ``next`` of the page before);
decisions and deletions in id order, paged with ``after``. Decisions stream as NDJSON (one
object per line, every match after ``after``) with ``Accept: application/x-ndjson`` or
``format=ndjson``; a cycle's policy comes as text with ``Accept: text/plain`` or
``format=text``. A server whose inventory is not in a database has no history (404).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, Final, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from dynamo.api.deps import IntParam, database_of
from dynamo.api.views import RecordView, StrictModel
from dynamo.registry import MAX_ID
from dynamo.store import (
    CycleDecision,
    CycleDeletion,
    CycleLine,
    CyclePolicy,
    CycleSite,
    CycleStatus,
    DetoxCycle,
    Verdict,
    cycle_decisions,
    cycle_deletions,
    cycle_policy,
    cycle_sites,
    get_cycle,
    iter_decisions,
    latest_cycles,
    list_cycles,
)

__all__ = ["router"]

router = APIRouter(tags=["detox"])

JSON: Final = "application/json"
NDJSON: Final = "application/x-ndjson"
TEXT: Final = "text/plain"
STREAM_CHUNK: Final = 5000
"""Decisions read (and serialized) per query while streaming NDJSON."""

CycleId = Annotated[IntParam, Path(ge=1, le=MAX_ID, description="A Detox cycle id.")]
Before = Annotated[
    IntParam | None, Query(ge=1, le=MAX_ID, description="`next` of the page before.")
]
After = Annotated[IntParam | None, Query(ge=0, le=MAX_ID, description="`next` of the page before.")]
RowLimit = Annotated[IntParam, Query(ge=1, le=100_000, description="Rows per page.")]
NameFilter = Annotated[str | None, Query(max_length=512, description="Name or glob (* and ?).")]


History = Annotated[Engine, Depends(database_of("Detox history"))]


class CycleView(RecordView, record=DetoxCycle):
    """A cycle; times are epoch seconds; ``policy_error`` is why it ran with the last good
    policy instead of the file as it is now."""


class CyclePage(StrictModel):
    items: list[CycleView]
    next: int | None


class CycleSiteView(
    RecordView,
    record=CycleSite,
    types={"occupancy_before": float | None, "occupancy_after": float | None},
):
    """A target site: occupancies are fractions of the quota (null: zero quota, data on it)."""


class LineView(RecordView, record=CycleLine):
    """A policy line: ``line_id`` -1 is the last-copy safety rule."""


class PolicyView(RecordView, record=CyclePolicy, types={"lines": list[LineView]}):
    pass


class DecisionView(RecordView, record=CycleDecision):
    pass


class DecisionPage(StrictModel):
    items: list[DecisionView]
    next: int | None


class DeletionView(RecordView, record=CycleDeletion):
    pass


class DeletionPage(StrictModel):
    items: list[DeletionView]
    next: int | None


async def _json(build: Callable[[], Any]) -> Response:
    """``build()``'s JSON, read and serialized in a worker thread."""
    body = await asyncio.to_thread(lambda: orjson.dumps(build()))
    return Response(body, media_type=JSON)


def _negotiate(request: Request, asked: str | None, offered: tuple[str, ...]) -> str:
    """The media type ``format=`` names, else the one of ``offered`` that the Accept header
    ranks highest (the first on a tie, or without a header)."""
    if asked is not None:
        return _FORMATS[asked]
    accept = request.headers.get("accept")
    if not accept:
        return offered[0]
    return max(offered, key=lambda media: (_quality(accept, media), -offered.index(media)))


_FORMATS: Final = {"json": JSON, "ndjson": NDJSON, "text": TEXT}


def _quality(accept: str, media: str) -> float:
    """The q of ``media`` in an Accept header: that of the most specific range matching it."""
    ranges = {media: 3, media.split("/")[0] + "/*": 2, "*/*": 1}
    found, rank = 0.0, 0
    for part in accept.split(","):
        pattern, *params = (field.strip() for field in part.split(";"))
        level = ranges.get(pattern.lower(), 0)
        if level > rank:
            found, rank = _q(params), level
    return found


def _q(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


@router.get("/detox/cycles", response_model=CyclePage)
async def list_detox_cycles(
    history: History,
    partition: Annotated[str | None, Query(max_length=64, description="Partition name.")] = None,
    status: CycleStatus | None = None,
    limit: Annotated[IntParam, Query(ge=1, le=1000, description="Cycles per page.")] = 50,
    before: Before = None,
) -> Response:
    """Cycles newest first, of one partition and in one status if given."""

    def build() -> dict[str, Any]:
        page = list_cycles(
            history, partition=partition, status=status, limit=limit, before_id=before
        )
        return {"items": [c.to_json() for c in page.items], "next": page.next}

    return await _json(build)


@router.get("/detox/status", response_model=list[CycleView])
async def detox_status(history: History) -> Response:
    """The newest cycle of every partition, by partition name: a failed policy file shows in
    its ``policy_error`` (Detox keeps running with the last good policy)."""
    return await _json(lambda: [c.to_json() for c in latest_cycles(history)])


@router.get("/detox/cycles/{cycle_id}", response_model=CycleView)
async def get_detox_cycle(cycle_id: CycleId, history: History) -> Response:
    """One cycle."""
    return await _json(lambda: get_cycle(history, cycle_id).to_json())


@router.get("/detox/cycles/{cycle_id}/sites", response_model=list[CycleSiteView])
async def get_cycle_sites(cycle_id: CycleId, history: History) -> Response:
    """The target sites of a cycle by name: quota, occupancy before and after, whether
    deletion was triggered, the bytes protected, kept and deleted, why deletion stopped."""
    return await _json(lambda: [s.to_json() for s in cycle_sites(history, cycle_id)])


@router.get(
    "/detox/cycles/{cycle_id}/policy",
    response_model=PolicyView,
    responses={200: {"content": {TEXT: {"schema": {"type": "string"}}}}},
)
async def get_cycle_policy(
    cycle_id: CycleId,
    history: History,
    request: Request,
    format: Annotated[Literal["json", "text"] | None, Query()] = None,
) -> Response:
    """The policy the cycle ran with: JSON with its text and lines, or the text alone."""
    if _negotiate(request, format, (JSON, TEXT)) == TEXT:
        policy = await asyncio.to_thread(cycle_policy, history, cycle_id)
        return PlainTextResponse(policy.text, headers={"X-Policy-Hash": policy.hash})
    return await _json(lambda: cycle_policy(history, cycle_id).to_json())


@router.get(
    "/detox/cycles/{cycle_id}/decisions",
    response_model=DecisionPage,
    responses={200: {"content": {NDJSON: {}}}},
)
async def get_cycle_decisions(
    cycle_id: CycleId,
    history: History,
    request: Request,
    site: NameFilter = None,
    dataset: NameFilter = None,
    decision: Verdict | None = None,
    limit: RowLimit = 1000,
    after: After = None,
    format: Annotated[Literal["json", "ndjson"] | None, Query()] = None,
) -> Response:
    """Per (site, dataset, policy line): the decision, bytes and block replicas, with the
    line's number and text, in id order."""
    if _negotiate(request, format, (JSON, NDJSON)) == NDJSON:
        chunks = iter_decisions(
            history,
            cycle_id,
            site=site,
            dataset=dataset,
            decision=decision,
            chunk=STREAM_CHUNK,
            after_id=after,
        )
        first = await asyncio.to_thread(_ndjson_chunk, chunks)  # an unknown cycle: 404 now
        return StreamingResponse(_ndjson(first, chunks), media_type=NDJSON)

    def build() -> dict[str, Any]:
        page = cycle_decisions(
            history,
            cycle_id,
            site=site,
            dataset=dataset,
            decision=decision,
            limit=limit,
            after_id=after,
        )
        return {"items": [d.to_json() for d in page.items], "next": page.next}

    return await _json(build)


def _ndjson_chunk(chunks: Iterator[tuple[CycleDecision, ...]]) -> bytes:
    return b"".join(orjson.dumps(d.to_json()) + b"\n" for d in next(chunks, ()))


async def _ndjson(
    first: bytes, chunks: Iterator[tuple[CycleDecision, ...]]
) -> AsyncIterator[bytes]:
    lines = first
    while lines:
        yield lines
        lines = await asyncio.to_thread(_ndjson_chunk, chunks)


@router.get("/detox/cycles/{cycle_id}/deletions", response_model=DeletionPage)
async def get_cycle_deletions(
    cycle_id: CycleId, history: History, limit: RowLimit = 1000, after: After = None
) -> Response:
    """The block replicas the cycle queued for deletion, in id order, with their progress."""

    def build() -> dict[str, Any]:
        page = cycle_deletions(history, cycle_id, limit=limit, after_id=after)
        return {"items": [d.to_json() for d in page.items], "next": page.next}

    return await _json(build)
