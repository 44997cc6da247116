"""Inventory reads: datasets, blocks, sites, partitions, groups. Public (anonymous allowed).

Names with slashes (every CMS dataset) go in the path as they are, e.g.
``GET /api/v1/datasets//ZeroBias/Run2018D-v1/AOD``; globs (``*``, ``?``) go in ``name=``.
Listings are paged: ``limit`` items in name order, ``after`` = the last name of the page before.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from fnmatch import fnmatchcase
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.responses import Response

from dynamo.api.deps import IntParam, Service
from dynamo.api.views import (
    BlockView,
    DatasetView,
    SiteView,
    block_view,
    dataset_view,
    json_of,
    site_view,
)
from dynamo.errors import NotFoundError
from dynamo.model import Dataset, Inventory

__all__ = ["router"]

router = APIRouter(tags=["inventory"])

Limit = Annotated[IntParam, Query(ge=1, le=10_000, description="Items per page.")]
After = Annotated[str | None, Query(description="Last name of the previous page.")]
NameGlob = Annotated[str, Query(description="Name or glob (* and ?).")]

T = TypeVar("T")
V = TypeVar("V", bound=BaseModel)


class DatasetPage(BaseModel):
    items: list[DatasetView]
    next: str | None


class SitePage(BaseModel):
    items: list[SiteView]
    next: str | None


class PartitionView(BaseModel):
    name: str
    condition: str | None
    subpartitions: list[str]


class GroupView(BaseModel):
    name: str | None
    olevel: str


def page(
    names: Iterable[str],
    lookup: Callable[[str], T],
    view: Callable[[T], V],
    limit: int,
    after: str | None,
) -> tuple[list[V], str | None]:
    """Views of the first ``limit`` names after ``after`` in name order, and the next cursor."""
    ordered = sorted(name for name in names if after is None or name > after)
    chosen = ordered[:limit]
    following = chosen[-1] if len(ordered) > limit else None
    return [view(lookup(name)) for name in chosen], following


def matching(names: Collection[str], pattern: str) -> Iterable[str]:
    """The names matching a glob; an exact name is a lookup, not a scan."""
    if not any(c in pattern for c in "*?["):
        return [pattern] if pattern in names else []
    return (name for name in names if fnmatchcase(name, pattern))


def find_dataset(inventory: Inventory, name: str) -> Dataset:
    dataset = inventory.datasets.get(name)
    if dataset is None:
        raise NotFoundError(f"no dataset named {name!r}")
    return dataset


@router.get("/datasets", response_model=DatasetPage)
async def list_datasets(
    service: Service, name: NameGlob = "*", limit: Limit = 1000, after: After = None
) -> DatasetPage:
    """Datasets whose names match ``name``, in name order."""
    datasets = service.inventory.datasets
    items, following = page(
        matching(datasets, name), datasets.__getitem__, dataset_view, limit, after
    )
    return DatasetPage(items=items, next=following)


@router.get("/datasets/{name:path}/blocks", response_model=list[BlockView])
async def list_blocks(service: Service, name: str) -> Response:
    """The blocks of a dataset."""
    dataset = find_dataset(service.inventory, name)
    return json_of([block_view(block) for block in dataset.blocks.values()])


@router.get("/datasets/{name:path}", response_model=DatasetView)
async def get_dataset(service: Service, name: str) -> Response:
    """One dataset, with its size, file count and the sites holding a replica."""
    return json_of(dataset_view(find_dataset(service.inventory, name)))


@router.get("/sites", response_model=SitePage)
async def list_sites(
    service: Service, name: NameGlob = "*", limit: Limit = 1000, after: After = None
) -> Response:
    """Sites with their quota, usage and occupancy per partition."""
    inventory = service.inventory
    items, following = page(
        matching(inventory.sites, name),
        inventory.sites.__getitem__,
        lambda site: site_view(site, inventory),
        limit,
        after,
    )
    return json_of(SitePage(items=items, next=following))


@router.get("/sites/{name}", response_model=SiteView)
async def get_site(service: Service, name: str) -> Response:
    """One site, with its quota, usage and occupancy per partition."""
    site = service.inventory.sites.get(name)
    if site is None:
        raise NotFoundError(f"no site named {name!r}")
    return json_of(site_view(site, service.inventory))


@router.get("/partitions", response_model=list[PartitionView])
async def list_partitions(service: Service) -> list[PartitionView]:
    """Partitions in definition order: a condition, or the union of subpartitions."""
    return [
        PartitionView(
            name=p.name,
            condition=p.condition_text,
            subpartitions=[sub.name for sub in p.subpartitions],
        )
        for p in service.inventory.partitions
    ]


@router.get("/groups", response_model=list[GroupView])
async def list_groups(service: Service) -> list[GroupView]:
    """Groups (owners of replicas); the null group has name null."""
    return [GroupView(name=g.name, olevel=g.olevel.name) for g in service.inventory.groups.values()]
