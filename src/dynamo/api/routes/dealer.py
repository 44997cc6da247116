"""Dealer history: cycles newest first, and the proposals a cycle accepted or rejected.
Public (anonymous allowed), as the Detox history is.

Cycles are paged with ``before`` (the ``next`` of the page before), a cycle's copies in id
order with ``after``. A server whose inventory is not in a database has no history (404).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine
from starlette.responses import Response

from dynamo.api.deps import IntParam, database_of
from dynamo.api.views import RecordView, StrictModel
from dynamo.dealer.queries import CopyRow, DealerCycle, cycle_copies, get_cycle, list_cycles
from dynamo.registry import MAX_ID

__all__ = ["router"]

router = APIRouter(tags=["dealer"])

CycleId = Annotated[IntParam, Path(ge=1, le=MAX_ID, description="A Dealer cycle id.")]
History = Annotated[Engine, Depends(database_of("Dealer history"))]


class DealerCycleView(RecordView, record=DealerCycle):
    """A cycle; times are epoch seconds; ``summary`` has the counts, the volume placed, the
    bytes per site and the rejections by reason."""


class DealerCyclePage(StrictModel):
    items: list[DealerCycleView]
    next: int | None


class DealerCopyView(RecordView, record=CopyRow):
    """A proposal: ``block`` is set for a one-block copy; ``site`` is null for a rejected
    proposal that named no single site."""


class DealerCopyPage(StrictModel):
    items: list[DealerCopyView]
    next: int | None


async def _json(build: Callable[[], Any]) -> Response:
    body = await asyncio.to_thread(lambda: orjson.dumps(build()))
    return Response(body, media_type="application/json")


@router.get("/dealer/cycles", response_model=DealerCyclePage)
async def list_dealer_cycles(
    history: History,
    partition: Annotated[str | None, Query(max_length=64, description="Partition name.")] = None,
    limit: Annotated[IntParam, Query(ge=1, le=1000, description="Cycles per page.")] = 50,
    before: Annotated[
        IntParam | None, Query(ge=1, le=MAX_ID, description="`next` of the page before.")
    ] = None,
) -> Response:
    """Cycles newest first, of one partition if given."""

    def build() -> dict[str, Any]:
        page = list_cycles(history, partition=partition, limit=limit, before_id=before)
        return {"items": [c.to_json() for c in page.items], "next": page.next}

    return await _json(build)


@router.get("/dealer/cycles/{cycle_id}", response_model=DealerCycleView)
async def get_dealer_cycle(cycle_id: CycleId, history: History) -> Response:
    """One cycle."""
    return await _json(lambda: get_cycle(history, cycle_id).to_json())


@router.get("/dealer/cycles/{cycle_id}/copies", response_model=DealerCopyPage)
async def get_dealer_copies(
    cycle_id: CycleId,
    history: History,
    status: Literal["accepted", "rejected"] | None = None,
    limit: Annotated[IntParam, Query(ge=1, le=100_000, description="Rows per page.")] = 1000,
    after: Annotated[
        IntParam | None, Query(ge=0, le=MAX_ID, description="`next` of the page before.")
    ] = None,
) -> Response:
    """The proposals of a cycle in id order: the copies placed (with their destination and
    the plug-in's reason) and, with their reason, the proposals rejected."""

    def build() -> dict[str, Any]:
        page = cycle_copies(history, cycle_id, status=status, limit=limit, after_id=after)
        return {"items": [c.to_json() for c in page.items], "next": page.next}

    return await _json(build)
