"""The web pages: server-rendered HTML (Jinja2), htmx for the parts that change in place,
uPlot for the charts. Read-only and public, like the inventory reads of the API.

Pages: ``/`` (totals, partitions, latest Detox cycles, application runs), ``/sites`` (usage of
one partition per site; the partition picker swaps the table), ``/sites/{name}`` (its shares and
its occupancy before and after every Detox cycle, with the watermarks), ``/detox`` (cycles),
``/detox/cycles/{id}`` (per site protected / kept / deleted; decisions filtered in place by
site and dataset, each with the policy line that decided it). Fragments that htmx swaps in
are served under the same paths with ``/table`` or ``/decisions``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from dynamo import __version__
from dynamo.errors import NotFoundError
from dynamo.server.service import InventoryService
from dynamo.store import (
    CycleStatus,
    SqlInventoryStore,
    cycle_decisions,
    cycle_sites,
    get_cycle,
    latest_cycles,
    list_cycles,
    site_history,
)
from dynamo.web import views

__all__ = ["install_pages"]

_HERE: Final = Path(__file__).parent
DECISIONS_PER_PAGE: Final = 200
CYCLES_PER_PAGE: Final = 50

templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.filters["bytes"] = views.human_bytes
templates.env.filters["percent"] = views.percent
templates.env.filters["when"] = lambda t: (
    "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
)
templates.env.globals["version"] = __version__

router = APIRouter(include_in_schema=False)

Partition = Annotated[str | None, Query(max_length=64)]
Name = Annotated[str | None, Query(max_length=512)]


def _service(request: Request) -> InventoryService:
    service: InventoryService = request.app.state.service
    return service


def _history(service: InventoryService) -> Engine | None:
    store = service.store
    return store.engine if isinstance(store, SqlInventoryStore) else None


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _missing(request: Request, what: str) -> HTMLResponse:
    return _page(request, "missing.html", status_code=404, what=what)


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> HTMLResponse:
    service = _service(request)
    inventory = service.inventory
    engine = _history(service)
    cycles = await asyncio.to_thread(latest_cycles, engine) if engine is not None else []
    scheduler = request.app.state.scheduler
    runs = await scheduler.list_runs(limit=10) if scheduler is not None else []
    return _page(
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
    inventory = _service(request).inventory
    chosen = partition or views.default_partition(inventory)
    return _page(
        request,
        "sites.html",
        partitions=sorted(p.name for p in inventory.partitions),
        partition=chosen,
        rows=views.site_rows(inventory, chosen),
    )


@router.get("/sites/table", response_class=HTMLResponse)
async def sites_table(request: Request, partition: Partition = None) -> HTMLResponse:
    inventory = _service(request).inventory
    chosen = partition or views.default_partition(inventory)
    return _page(
        request,
        "_sites_table.html",
        partition=chosen,
        rows=views.site_rows(inventory, chosen),
    )


@router.get("/sites/{name}", response_class=HTMLResponse)
async def site(request: Request, name: str, partition: Partition = None) -> HTMLResponse:
    service = _service(request)
    found = service.inventory.sites.get(name)
    if found is None:
        return _missing(request, f"site {name!r}")
    chosen = partition or views.default_partition(service.inventory)
    engine = _history(service)
    points = (
        await asyncio.to_thread(site_history, engine, name, chosen)
        if engine is not None and chosen is not None
        else []
    )
    return _page(
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
    engine = _history(_service(request))
    if engine is None:
        return _missing(request, "Detox history (this server's inventory is not in a database)")
    page = await asyncio.to_thread(
        list_cycles, engine, partition=partition, limit=CYCLES_PER_PAGE, before_id=before
    )
    return _page(request, "detox.html", cycles=page.items, next=page.next, partition=partition)


@router.get("/detox/cycles/{cycle_id}", response_class=HTMLResponse)
async def detox_cycle(request: Request, cycle_id: int) -> HTMLResponse:
    engine = _history(_service(request))
    if engine is None:
        return _missing(request, "Detox history")
    try:
        cycle = await asyncio.to_thread(get_cycle, engine, cycle_id)
        sites_of = await asyncio.to_thread(cycle_sites, engine, cycle_id)
    except NotFoundError:
        return _missing(request, f"Detox cycle {cycle_id}")
    return _page(
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
    engine = _history(_service(request))
    if engine is None:
        return _missing(request, "Detox history")
    try:
        page = await asyncio.to_thread(
            cycle_decisions,
            engine,
            cycle_id,
            site=site or None,
            dataset=dataset or None,
            limit=DECISIONS_PER_PAGE,
            after_id=after,
        )
    except NotFoundError:
        return _missing(request, f"Detox cycle {cycle_id}")
    return _page(
        request,
        "_decisions.html",
        cycle_id=cycle_id,
        decisions=page.items,
        next=page.next,
        site=site or "",
        dataset=dataset or "",
    )


def install_pages(app: FastAPI) -> None:
    """Serve the pages and their static files from ``app`` (made by ``create_app``)."""
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(router)
