"""Pages of what is being done to the data: placements, transfers and deletions, consistency.

``/dealer``: Dealer cycles with their copies, volume and rejections; ``/dealer/cycles/{id}``:
a cycle's proposals (accepted with their site, rejected with the reason), by status.

``/transfers?kind=transfer|deletion``: the queue by status, files and bytes finished per hour
over the last day (a chart), rates per link over the last hour, held subscriptions with their
reasons, the current queue and the latest finished tasks. ``/consistency``: the latest check
of every site; ``/consistency/runs/{id}``: a run's findings and the action taken on each.
``/requests?kind=&status=``: copy and deletion requests, newest first, with what was decided
for each item at each site.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from dynamo.consistency import get_run, latest_runs, run_files
from dynamo.dealer.queries import cycle_copies
from dynamo.dealer.queries import get_cycle as get_dealer_cycle
from dynamo.dealer.queries import list_cycles as list_dealer_cycles
from dynamo.errors import NotFoundError
from dynamo.fileops.ports import OpKind
from dynamo.fileops.queries import QueueState, history, link_rates, queued
from dynamo.fileops.stats import queue_counts, throughput
from dynamo.registry import RequestKind, RequestQuery, RequestStatus
from dynamo.store.registry import SqlRegistryStore
from dynamo.web.rendering import database, missing, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ROWS: Final = 100
FINDINGS_PER_PAGE: Final = 500


def _transfers(engine: Any, kind: OpKind, now: int) -> dict[str, Any]:
    buckets = throughput(engine, kind, now=now)
    return {
        "counts": queue_counts(engine, kind),
        "series": {
            "t": [b.start for b in buckets],
            "done": [b.done for b in buckets],
            "failed": [b.failed for b in buckets],
            "bytes": [b.bytes_done for b in buckets],
        },
        "rates": link_rates(engine, kind=kind, now=now, window=3600),
        "held": queued(engine, kind=kind, state=QueueState.HELD, limit=ROWS).items,
        "current": queued(engine, kind=kind, state=QueueState.CURRENT, limit=ROWS).items,
        "history": history(engine, kind=kind, limit=ROWS).items,
    }


@router.get("/transfers", response_class=HTMLResponse)
async def transfers(request: Request, kind: OpKind = OpKind.TRANSFER) -> HTMLResponse:
    engine = database(request)
    if engine is None:
        return missing(request, "file-operation queue (this server's inventory is in memory)")
    now = int(time.time())
    data = await asyncio.to_thread(_transfers, engine, kind, now)
    return page(request, "transfers.html", kind=kind.value, now=now, **data)


@router.get("/consistency", response_class=HTMLResponse)
async def consistency(request: Request) -> HTMLResponse:
    engine = database(request)
    if engine is None:
        return missing(request, "consistency report (this server's inventory is in memory)")
    runs = await asyncio.to_thread(latest_runs, engine)
    return page(request, "consistency.html", runs=runs)


@router.get("/consistency/runs/{run_id}", response_class=HTMLResponse)
async def consistency_run(
    request: Request,
    run_id: int,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    engine = database(request)
    if engine is None:
        return missing(request, "consistency report")
    try:
        run = await asyncio.to_thread(get_run, engine, run_id)
        files = await asyncio.to_thread(
            run_files, engine, run_id, kind=kind or None, limit=FINDINGS_PER_PAGE
        )
    except NotFoundError:
        return missing(request, f"consistency run {run_id}")
    return page(request, "consistency_run.html", run=run, files=files, kind=kind or "")


@router.get("/dealer", response_class=HTMLResponse)
async def dealer(request: Request) -> HTMLResponse:
    engine = database(request)
    if engine is None:
        return missing(request, "Dealer history (this server's inventory is in memory)")
    found = await asyncio.to_thread(list_dealer_cycles, engine, limit=ROWS)
    return page(request, "dealer.html", cycles=found.items)


@router.get("/dealer/cycles/{cycle_id}", response_class=HTMLResponse)
async def dealer_cycle(
    request: Request,
    cycle_id: int,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    engine = database(request)
    if engine is None:
        return missing(request, "Dealer history")
    try:
        cycle = await asyncio.to_thread(get_dealer_cycle, engine, cycle_id)
        copies = await asyncio.to_thread(
            cycle_copies, engine, cycle_id, status=status or None, limit=FINDINGS_PER_PAGE
        )
    except NotFoundError:
        return missing(request, f"Dealer cycle {cycle_id}")
    return page(request, "dealer_cycle.html", cycle=cycle, copies=copies.items, status=status or "")


@router.get("/requests", response_class=HTMLResponse)
async def requests(
    request: Request, kind: RequestKind | None = None, status: RequestStatus | None = None
) -> HTMLResponse:
    engine = database(request)
    if engine is None:
        return missing(request, "requests (this server's inventory is in memory)")
    query = RequestQuery(kind=kind, statuses=() if status is None else (status,), limit=ROWS)
    found = await asyncio.to_thread(SqlRegistryStore(engine).find_requests, query)
    return page(
        request,
        "requests.html",
        requests=found,
        kind=kind.value if kind else "",
        status=status.value if status else "",
        kinds=[k.value for k in RequestKind],
        statuses=[s.value for s in RequestStatus],
    )
