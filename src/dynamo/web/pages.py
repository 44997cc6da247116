"""The web pages: server-rendered HTML (Jinja2), htmx for the parts that change in place,
uPlot for the charts. Read-only and public, like the inventory reads of the API.

Pages here: ``/`` (totals, partitions, latest Detox cycles, application runs), ``/sites`` (usage of
one partition per site; the partition picker swaps the table), ``/sites/{name}`` (its shares and
its occupancy before and after every Detox cycle, with the watermarks), ``/detox`` (cycles),
``/detox/cycles/{id}`` (per site protected / kept / deleted; decisions filtered in place by
site and dataset, each with the policy line that decided it). Fragments that htmx swaps in
are served under the same paths with ``/table`` or ``/decisions``. Transfers and
consistency: :mod:`dynamo.web.operations`; user data: :mod:`dynamo.web.userdata`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from dynamo.errors import NotFoundError
from dynamo.store import (
    CycleStatus,
    cycle_decisions,
    cycle_sites,
    get_cycle,
    latest_cycles,
    list_cycles,
    site_history,
)
from dynamo.web import operations, rendering, userdata, views
from dynamo.web.rendering import HERE, missing, page

__all__ = ["install_pages"]

DECISIONS_PER_PAGE: Final = 200
CYCLES_PER_PAGE: Final = 50

router = APIRouter(include_in_schema=False)

Partition = Annotated[str | None, Query(max_length=64)]
Name = Annotated[str | None, Query(max_length=512)]


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> HTMLResponse:
    service = rendering.service(request)
    inventory = service.inventory
    engine = rendering.database(request)
    cycles = await asyncio.to_thread(latest_cycles, engine) if engine is not None else []
    scheduler = request.app.state.scheduler
    runs = await scheduler.list_runs(limit=10) if scheduler is not None else []
    return page(
        request,
        "overview.html",
        counts=inventory.counts(),
        log_seq=service.seq,
        loaded_at=service.loaded_at,
        partitions=sorted(p.name for p in inventory.partitions),
        cycles=cycles,
        has_history=engine is not None,
        runs=runs,
    )


@router.get("/sites", response_class=HTMLResponse)
async def sites(request: Request, partition: Partition = None) -> HTMLResponse:
    inventory = rendering.service(request).inventory
    chosen = partition or views.default_partition(inventory)
    return page(
        request,
        "sites.html",
        partitions=sorted(p.name for p in inventory.partitions),
        partition=chosen,
        rows=views.site_rows(inventory, chosen),
    )


@router.get("/sites/table", response_class=HTMLResponse)
async def sites_table(request: Request, partition: Partition = None) -> HTMLResponse:
    inventory = rendering.service(request).inventory
    chosen = partition or views.default_partition(inventory)
    return page(
        request,
        "_sites_table.html",
        partition=chosen,
        rows=views.site_rows(inventory, chosen),
    )


@router.get("/sites/{name}", response_class=HTMLResponse)
async def site(request: Request, name: str, partition: Partition = None) -> HTMLResponse:
    service = rendering.service(request)
    found = service.inventory.sites.get(name)
    if found is None:
        return missing(request, f"site {name!r}")
    chosen = partition or views.default_partition(service.inventory)
    engine = rendering.database(request)
    points = (
        await asyncio.to_thread(site_history, engine, name, chosen)
        if engine is not None and chosen is not None
        else []
    )
    return page(
        request,
        "site.html",
        site=found,
        usages=views.site_usages(found),
        partition=chosen,
        partitions=sorted(p.name for p in service.inventory.partitions),
        series=views.chart_series(points),
        points=points,
    )


@router.get("/detox", response_class=HTMLResponse)
async def detox(
    request: Request,
    partition: Partition = None,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    engine = rendering.database(request)
    if engine is None:
        return missing(request, "Detox history (this server's inventory is not in a database)")
    found = await asyncio.to_thread(
        list_cycles, engine, partition=partition, limit=CYCLES_PER_PAGE, before_id=before
    )
    return page(request, "detox.html", cycles=found.items, next=found.next, partition=partition)


@router.get("/detox/cycles/{cycle_id}", response_class=HTMLResponse)
async def detox_cycle(request: Request, cycle_id: int) -> HTMLResponse:
    engine = rendering.database(request)
    if engine is None:
        return missing(request, "Detox history")
    try:
        cycle = await asyncio.to_thread(get_cycle, engine, cycle_id)
        sites_of = await asyncio.to_thread(cycle_sites, engine, cycle_id)
    except NotFoundError:
        return missing(request, f"Detox cycle {cycle_id}")
    return page(
        request,
        "detox_cycle.html",
        cycle=cycle,
        sites=sites_of,
        totals=views.cycle_totals(sites_of),
        is_test=cycle.status is CycleStatus.TEST,
    )


@router.get("/detox/cycles/{cycle_id}/decisions", response_class=HTMLResponse)
async def detox_decisions(
    request: Request,
    cycle_id: int,
    site: Name = None,
    dataset: Name = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    engine = rendering.database(request)
    if engine is None:
        return missing(request, "Detox history")
    try:
        found = await asyncio.to_thread(
            cycle_decisions,
            engine,
            cycle_id,
            site=site or None,
            dataset=dataset or None,
            limit=DECISIONS_PER_PAGE,
            after_id=after,
        )
    except NotFoundError:
        return missing(request, f"Detox cycle {cycle_id}")
    return page(
        request,
        "_decisions.html",
        cycle_id=cycle_id,
        decisions=found.items,
        next=found.next,
        site=site or "",
        dataset=dataset or "",
    )


def install_pages(app: FastAPI) -> None:
    """Serve the pages and their static files from ``app`` (made by ``create_app``)."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(operations.router)
    app.include_router(userdata.router)
