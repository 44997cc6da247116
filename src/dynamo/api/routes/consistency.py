"""Site consistency reports: runs (newest first), the latest run of every site, and the files
a run classified with the action taken. Public (anonymous allowed), as the inventory reads are.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import Engine

from dynamo.api.deps import IntParam, database_of
from dynamo.api.views import RecordView, StrictModel
from dynamo.consistency import FileRow, Kind, RunRow, get_run, latest_runs, list_runs, run_files
from dynamo.registry import MAX_ID

__all__ = ["router"]

router = APIRouter(tags=["consistency"])

Reports = Annotated[Engine, Depends(database_of("consistency reports"))]
RunId = Annotated[IntParam, Path(ge=1, le=MAX_ID, description="A consistency run id.")]


class RunView(RecordView, record=RunRow):
    """A check of one site. ``status``: done, or held when a limit stopped the automatic
    actions (``reason`` says which); ``mode``: run or dry_run; ``summary``: the counts."""


class FileView(RecordView, record=FileRow, types={"kind": Kind}):
    """A file or directory a run classified and the action taken (none, wait, transfer,
    delete, held, invalidate)."""


class FilePage(StrictModel):
    items: list[FileView]
    next: int | None


@router.get("/consistency/runs", response_model=list[RunView])
async def get_runs(
    reports: Reports,
    site: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[IntParam, Query(ge=1, le=1000)] = 50,
    before: Annotated[IntParam | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[RunView]:
    """Runs newest first, of one site if given; page with ``before`` (the last id seen)."""
    found = await asyncio.to_thread(list_runs, reports, site=site, limit=limit, before_id=before)
    return [RunView(**run.to_json()) for run in found]


@router.get("/consistency/sites", response_model=list[RunView])
async def get_latest(reports: Reports) -> list[RunView]:
    """The latest run of every site, by site name."""
    return [RunView(**run.to_json()) for run in await asyncio.to_thread(latest_runs, reports)]


@router.get("/consistency/runs/{run_id}", response_model=RunView)
async def get_one_run(run_id: RunId, reports: Reports) -> RunView:
    """One run."""
    return RunView(**(await asyncio.to_thread(get_run, reports, run_id)).to_json())


@router.get("/consistency/runs/{run_id}/files", response_model=FilePage)
async def get_run_files(
    run_id: RunId,
    reports: Reports,
    kind: Kind | None = None,
    limit: Annotated[IntParam, Query(ge=1, le=100_000)] = 1000,
    after: Annotated[IntParam | None, Query(ge=0, le=MAX_ID)] = None,
) -> FilePage:
    """The files of a run in id order, of one kind if given; page with ``after``."""
    rows = await asyncio.to_thread(
        run_files,
        reports,
        run_id,
        kind=kind.value if kind else None,
        limit=limit + 1,
        after_id=after,
    )
    items = [FileView(**row.to_json()) for row in rows[:limit]]
    return FilePage(items=items, next=rows[limit - 1].id if len(rows) > limit else None)
