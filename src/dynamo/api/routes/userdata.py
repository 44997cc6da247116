"""User data under /userdata: injection from jobs, completion, consolidation, imports,
deletion, status, quotas and the UserData partition's health.

A job injects a file in two calls: ``POST /userdata/locations`` (dataset, LFN, site) answers
the PFN and protocol to copy to; after the copy, ``POST /userdata/files`` confirms with size
and adler32, and the file is registered once storage shows it so (409 ``file_check_failed``
otherwise, nothing registered). Writes need the ``user`` role on ``userdata`` and act on the
caller's own namespace only (403 otherwise); admins act on every namespace and set quotas.
Reads are public. Dataset names go into paths as they are
(``/userdata/datasets//Primary/user-label/USER``).
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from dynamo.api.security import Principal, Role, Target, require
from dynamo.errors import NotFoundError
from dynamo.fileops.subscriptions import block_files
from dynamo.model import Dataset
from dynamo.userdata import Caller, ImportFile, UserDataService, partition_health, usage
from dynamo.userdata.health import site_level
from dynamo.userdata.records import DatasetRecord, imports_of, read_dataset, read_datasets

__all__ = ["router", "userdata_of"]

router = APIRouter(tags=["userdata"])

UserWriter = Annotated[Principal, Depends(require(Target.USERDATA, Role.USER))]
Admin = Annotated[Principal, Depends(require(Target.USERDATA, Role.ADMIN))]
DatasetName = Annotated[str, Field(min_length=1, max_length=512)]
Lfn = Annotated[str, Field(min_length=1, max_length=512)]
SiteName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
Adler = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}$")]


async def userdata_of(request: Request) -> UserDataService:
    found: UserDataService | None = request.app.state.userdata
    if found is None:
        raise NotFoundError("this server keeps no user data (its inventory is not in a database)")
    return found


UserData = Annotated[UserDataService, Depends(userdata_of)]


def _caller(principal: Principal) -> Caller:
    return Caller(user=principal.user, is_admin=principal.has(Target.USERDATA, (Role.ADMIN,)))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LocationIn(_Body):
    dataset: DatasetName
    lfn: Lfn
    site: SiteName
    size: Annotated[int, Field(ge=0)] = 0


class LocationOut(BaseModel):
    dataset: str
    lfn: str
    site: str
    pfn: str
    protocol: str


class ConfirmIn(_Body):
    dataset: DatasetName
    lfn: Lfn
    site: SiteName
    size: Annotated[int, Field(ge=0)]
    adler32: Adler


class ConfirmOut(BaseModel):
    dataset: str
    lfn: str
    site: str
    block: str
    block_closed: bool
    health: str = Field(description="ok, warn or alarm: the site's share of the partition")


class DatasetIn(_Body):
    dataset: DatasetName


class SubscriptionIn(_Body):
    dataset: DatasetName
    site: SiteName


class ImportFileIn(_Body):
    lfn: Lfn
    source_url: Annotated[str, Field(min_length=1, max_length=2048)]
    size: Annotated[int, Field(ge=0)] | None = None
    adler32: Adler | None = None


class ImportIn(_Body):
    dataset: DatasetName
    site: SiteName
    files: Annotated[list[ImportFileIn], Field(min_length=1, max_length=10_000)]


class ImportOut(BaseModel):
    ids: list[int]


class PassOut(BaseModel):
    transfers: int
    deletions: int
    consolidated: list[str]
    purged: list[str]


class QuotaIn(_Body):
    quota: int = Field(description="Bytes; negative: unlimited.")


class SiteHealthView(BaseModel):
    site: str
    quota: int
    used: int
    occupancy: float | None
    level: str


class HealthView(BaseModel):
    partition: str
    quota: int
    unique_bytes: int
    occupancy: float | None = Field(description="null when the quota is zero and data exist")
    level: str
    warn_at: float
    alarm_at: float
    sites: list[SiteHealthView]


class UsageView(BaseModel):
    user: str
    site: str
    bytes: int
    files: int


class ReplicaView(BaseModel):
    site: str
    num_files: int
    size: int
    complete: bool


class BlockView(BaseModel):
    name: str
    site: str
    state: str
    num_files: int
    size: int
    replicas: list[ReplicaView]


class ImportView(BaseModel):
    id: int
    lfn: str
    site: str
    source_url: str
    status: str
    message: str | None


class DatasetView(BaseModel):
    name: str
    owner: str
    state: str = Field(
        description="open, complete, transferring, consolidated, deleting or deleted"
    )
    created: int
    completed: int | None
    target_site: str | None
    consolidated: int | None
    num_files: int
    size: int
    sites: list[str]
    blocks: list[BlockView]
    imports: list[ImportView]


class FileView(BaseModel):
    lfn: str
    block: str
    size: int
    adler32: str
    sites: list[str]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


async def _health(userdata: UserDataService) -> HealthView:
    names = [r.name for r in await asyncio.to_thread(read_datasets, userdata.engine)]
    found = partition_health(userdata.writer.inventory, userdata.options, names)
    return HealthView(
        partition=found.partition,
        quota=found.quota,
        unique_bytes=found.unique_bytes,
        occupancy=_finite(found.occupancy),
        level=found.level,
        warn_at=found.warn_at,
        alarm_at=found.alarm_at,
        sites=[
            SiteHealthView(
                site=s.site,
                quota=s.quota,
                used=s.used,
                occupancy=_finite(s.occupancy),
                level=s.level,
            )
            for s in found.sites
        ],
    )


@router.get("/userdata/health", response_model=HealthView)
async def health(userdata: UserData) -> HealthView:
    """The UserData partition: quota per site, usage, and its level (ok, warn, alarm)."""
    return await _health(userdata)


@router.put("/userdata/quotas/{site}", response_model=HealthView)
async def set_quota(site: str, body: QuotaIn, userdata: UserData, admin: Admin) -> HealthView:
    """Give user data a quota at ``site`` (defines the UserData partition when needed)."""
    await userdata.set_quota(site, body.quota)
    return await _health(userdata)


@router.get("/userdata/usage", response_model=list[UsageView])
async def usage_view(
    userdata: UserData, user: Annotated[str | None, Query(max_length=64)] = None
) -> list[UsageView]:
    """Bytes and files of each user's datasets at each site."""
    return [
        UsageView(user=u.user, site=u.site, bytes=u.bytes, files=u.files)
        for u in usage(userdata.writer.inventory, user=user)
    ]


@router.post("/userdata/locations", response_model=LocationOut)
async def locate(body: LocationIn, userdata: UserData, principal: UserWriter) -> LocationOut:
    """Where to copy a new file (checks names, ownership, uniqueness and the site's quota)."""
    found = await userdata.locate(_caller(principal), body.dataset, body.lfn, body.site, body.size)
    return LocationOut(
        dataset=found.dataset,
        lfn=found.lfn,
        site=found.site,
        pfn=found.pfn,
        protocol=found.protocol,
    )


@router.post("/userdata/files", response_model=ConfirmOut, status_code=201)
async def confirm(body: ConfirmIn, userdata: UserData, principal: UserWriter) -> ConfirmOut:
    """Register a copied file once storage shows it has this size and adler32."""
    done = await userdata.confirm(
        _caller(principal), body.dataset, body.lfn, body.site, body.size, body.adler32
    )
    level = site_level(userdata.writer.inventory, done.site, userdata.options)
    return ConfirmOut(
        dataset=done.dataset,
        lfn=done.lfn,
        site=done.site,
        block=done.block,
        block_closed=done.is_block_closed,
        health=level,
    )


@router.post("/userdata/complete", response_model=DatasetView)
async def complete(body: DatasetIn, userdata: UserData, principal: UserWriter) -> DatasetView:
    """Processing is complete: the remaining blocks are closed."""
    await userdata.complete(_caller(principal), body.dataset)
    return await _dataset_view(userdata, body.dataset)


@router.post("/userdata/subscriptions", response_model=PassOut)
async def subscribe(body: SubscriptionIn, userdata: UserData, principal: UserWriter) -> PassOut:
    """Consolidate the dataset at one site; the scattered copies go once it is there."""
    done = await userdata.subscribe(_caller(principal), body.dataset, body.site)
    return PassOut(
        transfers=done.transfers,
        deletions=done.deletions,
        consolidated=done.consolidated,
        purged=done.purged,
    )


@router.post("/userdata/deletions", response_model=PassOut)
async def delete(body: DatasetIn, userdata: UserData, principal: UserWriter) -> PassOut:
    """Delete the dataset: its files everywhere, then the dataset itself."""
    done = await userdata.delete(_caller(principal), body.dataset)
    return PassOut(
        transfers=done.transfers,
        deletions=done.deletions,
        consolidated=done.consolidated,
        purged=done.purged,
    )


@router.post("/userdata/imports", response_model=ImportOut, status_code=201)
async def import_files(body: ImportIn, userdata: UserData, principal: UserWriter) -> ImportOut:
    """Queue files produced outside Dynamo to be copied into the namespace and registered."""
    ids = await userdata.import_files(
        _caller(principal),
        body.dataset,
        body.site,
        [
            ImportFile(lfn=f.lfn, source_url=f.source_url, size=f.size, adler32=f.adler32)
            for f in body.files
        ],
    )
    return ImportOut(ids=ids)


@router.get("/userdata/datasets", response_model=list[DatasetView])
async def datasets(
    userdata: UserData, owner: Annotated[str | None, Query(max_length=64)] = None
) -> list[DatasetView]:
    """The user datasets (of ``owner``), with their blocks and where they are."""
    found = await asyncio.to_thread(read_datasets, userdata.engine, owner=owner)
    return [_view(userdata, record, []) for record in found]


@router.get("/userdata/datasets/{name:path}/files", response_model=list[FileView])
async def dataset_files(name: str, userdata: UserData) -> list[FileView]:
    """The files of a user dataset and the sites holding each complete."""
    dataset = userdata.writer.inventory.datasets.get(name)
    if dataset is None:
        raise NotFoundError(f"no user dataset named {name!r}")
    blocks = [
        (b.name, [r.site.name for r in b.replicas if r.is_complete()])
        for b in dataset.blocks.values()
    ]
    files = await _files(userdata, name, [b for b, _ in blocks])
    holders = dict(blocks)
    return [
        FileView(lfn=f[0], block=block, size=f[1], adler32=f[2], sites=sorted(holders[block]))
        for block, rows in sorted(files.items())
        for f in rows
    ]


@router.get("/userdata/datasets/{name:path}", response_model=DatasetView)
async def dataset_status(name: str, userdata: UserData) -> DatasetView:
    """A user dataset: state, blocks (open or closed, at which sites), imports."""
    return await _dataset_view(userdata, name)


async def _files(
    userdata: UserDataService, dataset: str, blocks: list[str]
) -> dict[str, list[tuple[str, int, str]]]:
    def read() -> dict[str, list[tuple[str, int, str]]]:
        with userdata.engine.connect() as conn:
            return {
                block: [(f.lfn, f.size, f.adler32) for f in block_files(conn, dataset, block)]
                for block in blocks
            }

    return await asyncio.to_thread(read)


async def _dataset_view(userdata: UserDataService, name: str) -> DatasetView:
    record = await asyncio.to_thread(read_dataset, userdata.engine, name)
    if record is None:
        raise NotFoundError(f"no user dataset named {name!r}")
    imports = await asyncio.to_thread(imports_of, userdata.engine, dataset=name)
    return _view(
        userdata,
        record,
        [
            ImportView(
                id=i.id,
                lfn=i.lfn,
                site=i.site,
                source_url=i.source_url,
                status=i.status,
                message=i.message,
            )
            for i in imports
        ],
    )


def _state(record: DatasetRecord, dataset: Dataset | None) -> str:
    if record.deleted is not None:
        return "deleting" if dataset is not None else "deleted"
    if record.consolidated is not None:
        return "consolidated"
    if record.target_site is not None:
        return "transferring"
    return "complete" if record.completed is not None else "open"


def _view(
    userdata: UserDataService, record: DatasetRecord, imports: list[ImportView]
) -> DatasetView:
    dataset: Dataset | None = userdata.writer.inventory.datasets.get(record.name)
    blocks = [] if dataset is None else sorted(dataset.blocks.values(), key=lambda b: b.name)
    target = record.target_site
    views = []
    for block in blocks:
        replicas = sorted(block.replicas, key=lambda r: r.site.name)
        at_target = next((r for r in replicas if r.site.name == target), None)
        state = "open" if block.is_open else "closed"
        if target is not None and (at_target is None or not at_target.is_complete()):
            state = "transferring"
        views.append(
            BlockView(
                name=block.name,
                site=block.name.rsplit("-", 1)[0],
                state=state,
                num_files=block.num_files,
                size=block.size,
                replicas=[
                    ReplicaView(
                        site=r.site.name,
                        num_files=r.num_files,
                        size=r.size,
                        complete=r.is_complete(),
                    )
                    for r in replicas
                ],
            )
        )
    return DatasetView(
        name=record.name,
        owner=record.owner,
        state=_state(record, dataset),
        created=record.created,
        completed=record.completed,
        target_site=target,
        consolidated=record.consolidated,
        num_files=0 if dataset is None else dataset.num_files,
        size=0 if dataset is None else dataset.size,
        sites=sorted({r.site.name for b in blocks for r in b.replicas}),
        blocks=views,
        imports=imports,
    )
