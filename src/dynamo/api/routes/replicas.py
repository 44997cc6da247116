"""Replica listings, files of a block and statistics. Public (anonymous allowed).

Listings of dataset or block replicas take filters (site, dataset glob, group, completeness).
``format=ndjson`` streams one JSON object per line, built in chunks on the event loop so a
listing of a whole site (hundreds of thousands of block replicas) starts at once and never
holds the whole answer in memory; each line shows its replica as it is when the line is built.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Annotated, Final, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.responses import Response, StreamingResponse

from dynamo.api.deps import IntParam, Service
from dynamo.api.listing_cache import cached_listing
from dynamo.api.routes.inventory import find_dataset
from dynamo.api.views import (
    BlockReplicaView,
    DatasetReplicaView,
    block_replica_view,
    dataset_replica_view,
    json_body,
)
from dynamo.errors import NotFoundError
from dynamo.model import BlockReplica, DatasetReplica, Inventory

__all__ = ["router"]

router = APIRouter(tags=["replicas"])

CACHED_LISTINGS: Final = ("/replicas", "/blockreplicas")
"""Paths of the listings answered with :func:`~dynamo.api.listing_cache.cached_listing`, which
:class:`~dynamo.api.listing_cache.ListingFastPath` may answer again (public, no caller asked)."""

SiteFilter = Annotated[str | None, Query(description="Site name or glob.")]
DatasetFilter = Annotated[str | None, Query(description="Dataset name or glob.")]
GroupFilter = Annotated[str | None, Query(description="Owner group; 'null' for the null group.")]
Complete = Annotated[bool | None, Query(description="Only complete (true) or incomplete (false).")]
Format = Annotated[
    Literal["json", "ndjson"], Query(description="json (paged) or ndjson (streamed).")
]
Limit = Annotated[IntParam, Query(ge=1, le=100_000)]
Offset = Annotated[IntParam, Query(ge=0)]

_CHUNK = 2_000


class DatasetReplicaPage(BaseModel):
    items: list[DatasetReplicaView]
    total: int


class BlockReplicaPage(BaseModel):
    items: list[BlockReplicaView]
    total: int


class FileView(BaseModel):
    lfn: str
    size: int
    adler32: str


class StatsKey(StrEnum):
    TIER = "tier"
    SITE = "site"
    GROUP = "group"
    STATUS = "status"


class StatRow(BaseModel):
    key: str | None
    bytes: int
    count: int


def _glob(pattern: str | None) -> Callable[[str], bool]:
    if pattern is None:
        return lambda _: True
    if not any(c in pattern for c in "*?["):
        return lambda name: name == pattern
    return lambda name: fnmatchcase(name, pattern)


def _group_matches(group: str | None) -> Callable[[str | None], bool]:
    if group is None:
        return lambda _: True
    wanted = None if group == "null" else group
    return lambda name: name == wanted


def dataset_replicas(
    inventory: Inventory, site: str | None, dataset: str | None, group: str | None
) -> Iterator[DatasetReplica]:
    """Dataset replicas matching the filters; an exact site or dataset narrows the scan."""
    site_ok, dataset_ok, group_ok = _glob(site), _glob(dataset), _group_matches(group)
    if dataset is not None and not any(c in dataset for c in "*?["):
        found = inventory.datasets.get(dataset)
        candidates: Iterable[DatasetReplica] = found.replicas.values() if found else ()
    else:
        sites = [s for name, s in inventory.sites.items() if site_ok(name)]
        candidates = (r for s in sites for r in s.dataset_replicas.values())
    for replica in candidates:
        if (
            site_ok(replica.site.name)
            and dataset_ok(replica.dataset.name)
            and group_ok(replica.group.name)
        ):
            yield replica


def block_replicas(
    inventory: Inventory,
    site: str | None,
    dataset: str | None,
    group: str | None,
    complete: bool | None,
) -> Iterator[BlockReplica]:
    group_ok = _group_matches(group)
    for replica in dataset_replicas(inventory, site, dataset, None):
        for block_replica in replica.block_replicas.values():
            if group_ok(block_replica.group.name) and (
                complete is None or block_replica.is_complete() is complete
            ):
                yield block_replica


def _ndjson(items: Iterator[object], view: Callable[[object], BaseModel]) -> Response:
    async def lines() -> AsyncIterator[bytes]:
        while True:
            chunk = [view(item).model_dump() for _, item in zip(range(_CHUNK), items, strict=False)]
            if not chunk:
                return
            yield b"".join(orjson.dumps(row) + b"\n" for row in chunk)
            await asyncio.sleep(0)  # let other requests (and writes) run between chunks

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get(
    "/replicas",
    response_model=DatasetReplicaPage,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def list_dataset_replicas(
    request: Request,
    service: Service,
    site: SiteFilter = None,
    dataset: DatasetFilter = None,
    group: GroupFilter = None,
    format: Format = "json",
    limit: Limit = 1000,
    offset: Offset = 0,
) -> DatasetReplicaPage | Response:
    """Dataset replicas (which datasets are where, owned by whom, how complete)."""
    found = dataset_replicas(service.inventory, site, dataset, group)
    if format == "ndjson":
        return _ndjson(found, dataset_replica_view)  # type: ignore[arg-type]

    def page() -> bytes:
        matched = list(found)
        views = [dataset_replica_view(r) for r in matched[offset : offset + limit]]
        return json_body(DatasetReplicaPage(items=views, total=len(matched)))

    return cached_listing(request, service, ("replicas", site, dataset, group, limit, offset), page)


@router.get(
    "/blockreplicas",
    response_model=BlockReplicaPage,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def list_block_replicas(
    request: Request,
    service: Service,
    site: SiteFilter = None,
    dataset: DatasetFilter = None,
    group: GroupFilter = None,
    complete: Complete = None,
    format: Format = "json",
    limit: Limit = 1000,
    offset: Offset = 0,
) -> BlockReplicaPage | Response:
    """Block replicas with their owner, size present and completeness."""
    found = block_replicas(service.inventory, site, dataset, group, complete)
    if format == "ndjson":
        return _ndjson(found, block_replica_view)  # type: ignore[arg-type]

    def page() -> bytes:
        matched = list(found)
        views = [block_replica_view(r) for r in matched[offset : offset + limit]]
        return json_body(BlockReplicaPage(items=views, total=len(matched)))

    key = ("blockreplicas", site, dataset, group, complete, limit, offset)
    return cached_listing(request, service, key, page)


@router.get("/files", response_model=list[FileView])
async def list_files(
    service: Service,
    dataset: Annotated[str, Query(description="Dataset name.")],
    block: Annotated[str, Query(description="Block name (the part after '#').")],
) -> list[FileView]:
    """The files of a block, read from the database (files are not held in memory)."""
    found = find_dataset(service.inventory, dataset).find_block(block)
    if found is None:
        raise NotFoundError(f"no block {dataset}#{block}")
    files = await asyncio.to_thread(service.store.files_of, found)
    return [FileView(lfn=f.lfn, size=f.size, adler32=f.adler32) for f in files]


@router.get("/stats/size", response_model=list[StatRow])
async def size_statistics(
    service: Service,
    by: Annotated[StatsKey, Query(description="Group the volume by this key.")] = StatsKey.TIER,
) -> list[StatRow]:
    """Logical volume (tier, status) or physical volume on disk and tape (site, group)."""
    inventory = service.inventory
    volume: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    if by in (StatsKey.TIER, StatsKey.STATUS):
        for dataset in inventory.datasets.values():
            name = dataset.name.rsplit("/", 1)[-1] if by is StatsKey.TIER else dataset.status.name
            volume[name][0] += dataset.size
            volume[name][1] += 1
    else:
        for replica in inventory.iter_dataset_replicas():
            for block_replica in replica.block_replicas.values():
                owner = replica.site.name if by is StatsKey.SITE else block_replica.group.name
                volume[owner][0] += block_replica.size
                volume[owner][1] += 1
    rows = [StatRow(key=k, bytes=v[0], count=v[1]) for k, v in volume.items()]
    return sorted(rows, key=lambda row: -row.bytes)
