"""Popularity: feed access records, read one dataset's accesses.

``POST /popularity/accesses`` stores access records (a list, or ``{"records": [...]}``, at most
:data:`MAX_RECORDS` a call) in one transaction: a record of a (dataset, site, day) already
stored replaces its counts. It needs the operator (or admin) role on the ``popularity``
target, which a feeding service gets without any right on the inventory. Records may name
datasets the inventory does not hold (deleted, not yet injected): they are kept, and counted
in the answer's ``unknown_datasets``. Any bad record is a 400 naming its index, field and
value, and nothing is written.

``GET /popularity/datasets/{name}`` is public: the accesses per site and in total over the
last ``days`` days (default 730, what Detox counts), and the last day with an access.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from dynamo.api.deps import IntParam, Service
from dynamo.api.registry import Now
from dynamo.api.security import Principal, Role, Target, require
from dynamo.errors import NotFoundError
from dynamo.store.popularity import DAY, MAX_COUNT, AccessRecord, PopularityStore, day_of
from dynamo.store.popularity_io import AccessTally, records_from_json

__all__ = ["MAX_RECORDS", "router"]

router = APIRouter(tags=["popularity"])

MAX_RECORDS: Final = 100_000
"""Records per POST (the CLI sends files in batches of 20,000)."""
DEFAULT_DAYS: Final = 730

Feeder = Annotated[Principal, Depends(require(Target.POPULARITY, Role.OPERATOR))]
DatasetName = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[^\s#]+$")]
SiteName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


def _is_dataset_name(name: str) -> bool:
    try:
        AccessRecord(name, "-", 0, 0)
    except ValueError:
        return False
    return True


async def popularity_of(request: Request) -> PopularityStore:
    """The access records of the application handling ``request``."""
    found: PopularityStore = request.app.state.popularity
    return found


Popularity = Annotated[PopularityStore, Depends(popularity_of)]


class AccessIn(BaseModel):
    """Accesses to a dataset at a site during one UTC day."""

    model_config = ConfigDict(extra="forbid", strict=True)

    dataset: DatasetName
    site: SiteName
    date: (
        Annotated[str, Field(max_length=32, description="YYYY-MM-DD, or epoch seconds")]
        | Annotated[int, Field(ge=0, le=MAX_COUNT, description="epoch seconds in the day")]
    )
    num_accesses: Count
    cpu_hours: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class AccessesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    records: Annotated[list[AccessIn], Field(max_length=MAX_RECORDS)]


class AccessesWritten(BaseModel):
    """What a POST stored: records, distinct datasets and sites, first and last day (None
    when no record was sent), and the datasets not in the inventory."""

    records: int
    datasets: int
    sites: int
    first_day: int | None
    last_day: int | None
    unknown_datasets: int


class SiteAccessView(BaseModel):
    site: str
    num_accesses: int
    cpu_hours: float
    last_access: int


class DatasetAccessView(BaseModel):
    """Accesses over the days from ``since`` (UTC midnight, epoch s); ``last_access`` None when
    there was none."""

    dataset: str
    days: int
    since: int
    num_accesses: int
    cpu_hours: float
    last_access: int | None
    in_inventory: bool
    sites: list[SiteAccessView]


@router.post("/popularity/accesses", response_model=AccessesWritten)
async def post_accesses(
    body: Annotated[list[AccessIn], Field(max_length=MAX_RECORDS)] | AccessesIn,
    caller: Feeder,
    service: Service,
    popularity: Popularity,
) -> AccessesWritten:
    """Store access records (all or none); a day sent again replaces its counts."""
    items = body.records if isinstance(body, AccessesIn) else body
    records = records_from_json([item.model_dump() for item in items])
    tally = AccessTally()
    for record in records:
        tally.add(record)
    datasets = service.inventory.datasets
    unknown = sum(1 for name in tally.datasets if name not in datasets)
    await asyncio.to_thread(popularity.record, records)
    return AccessesWritten(
        records=tally.records,
        datasets=len(tally.datasets),
        sites=len(tally.sites),
        first_day=tally.first_day,
        last_day=tally.last_day,
        unknown_datasets=unknown,
    )


@router.get("/popularity/datasets/{name:path}", response_model=DatasetAccessView)
async def get_dataset_accesses(
    name: str,
    service: Service,
    popularity: Popularity,
    now: Now,
    days: Annotated[IntParam, Query(ge=1, le=36_500, description="Window in days.")] = DEFAULT_DAYS,
) -> DatasetAccessView:
    """The accesses of one dataset per site and in total over the last ``days`` days; 404 if
    the inventory does not hold it and no record names it."""
    in_inventory = name in service.inventory.datasets
    since = day_of(now) - days * DAY
    sites = []
    if in_inventory or _is_dataset_name(name):  # no query for what no record can name
        sites = await asyncio.to_thread(popularity.site_accesses, name, since=since)
    if not sites and not in_inventory:
        raise NotFoundError(f"no dataset named {name!r}, and no access record of it")
    return DatasetAccessView(
        dataset=name,
        days=days,
        since=since,
        num_accesses=sum(s.num_accesses for s in sites),
        cpu_hours=sum(s.cpu_hours for s in sites),
        last_access=max((s.last_day for s in sites), default=None),
        in_inventory=in_inventory,
        sites=[
            SiteAccessView(
                site=s.site,
                num_accesses=s.num_accesses,
                cpu_hours=s.cpu_hours,
                last_access=s.last_day,
            )
            for s in sites
        ],
    )
