"""POST /inject and POST /invalidate: synchronous, idempotent, atomic per call.

Both need the operator (or admin) role on the inventory. A call is validated whole before
anything is written: a malformed body is a 400 naming the field; a reference to an unknown
object is a 400 naming the operation; in either case nothing changes. Calls of more than
``DEFAULT_CHUNK_OPS`` operations are committed as several ChangeSets (see InventoryService).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidatorFunctionWrapHandler,
)
from pydantic_core import core_schema

from dynamo.api.deps import Service
from dynamo.api.enums import (
    DatasetStatusName,
    DataTypeName,
    GroupLevelName,
    SiteStatusName,
    StorageTypeName,
)
from dynamo.api.routes.injection_body import RELEASE_PATTERN, fast_injection, release_version
from dynamo.api.security import Principal, Role, Target, require
from dynamo.model import Block, File, GroupLevel, Inventory, Operation
from dynamo.server.injection import (
    BlockReplicaSpec,
    BlockSpec,
    DatasetReplicaSpec,
    DatasetSpec,
    FileRef,
    FileSpec,
    GroupSpec,
    Injection,
    Invalidation,
    SiteSpec,
    injection_ops,
    invalidation_ops,
)
from dynamo.server.service import InventoryService

__all__ = ["router"]

router = APIRouter(tags=["injection"])

Writer = Annotated[Principal, Depends(require(Target.INVENTORY, Role.OPERATOR))]
Name = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^\S+$")]
Label = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S(.*\S)?$")]
BlockName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^\S+$")]
DatasetName = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[^\s#]+$")]
Release = Annotated[
    str,
    Field(
        max_length=64,
        pattern=f"^{RELEASE_PATTERN}$",
        description="CYCLE_MAJOR_MINOR[_SUFFIX], e.g. 10_6_4_patch1",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class FileIn(_Body):
    lfn: Name
    size: Annotated[int, Field(ge=0)]
    adler32: Annotated[str, Field(pattern=r"^([0-9a-f]{8})?$")] = ""


class BlockIn(_Body):
    name: BlockName
    is_open: bool = False
    files: list[FileIn] = []


class DatasetIn(_Body):
    name: DatasetName
    status: DatasetStatusName | None = None
    data_type: DataTypeName | None = None
    software_version: Release | None = None
    is_open: bool | None = None
    blocks: list[BlockIn] = []


class SiteIn(_Body):
    name: Label
    host: str | None = None
    storage_type: StorageTypeName | None = None
    backend: str | None = None
    status: SiteStatusName | None = None


class GroupIn(_Body):
    name: Label
    olevel: GroupLevelName = GroupLevel.BLOCK


class PresentIn(_Body):
    """What an incomplete block replica holds so far."""

    size: Annotated[int, Field(ge=0)]
    num_files: Annotated[int, Field(ge=0)]


class BlockReplicaIn(_Body):
    """A block replica; without ``present`` it is complete."""

    block: BlockName
    group: Label | None = None
    is_custodial: bool = False
    present: PresentIn | None = None


class DatasetReplicaIn(_Body):
    dataset: DatasetName
    site: Label
    group: Label | None = None
    growing: bool = False
    block_replicas: list[BlockReplicaIn] = []


class InjectionIn(_Body):
    """What to add or update. Enumerations are given by name (e.g. "VALID", "DISK")."""

    groups: list[GroupIn] = []
    sites: list[SiteIn] = []
    datasets: list[DatasetIn] = []
    dataset_replicas: list[DatasetReplicaIn] = []


class FileRefIn(_Body):
    dataset: DatasetName
    block: BlockName
    lfn: Name


class BlockRefIn(_Body):
    dataset: DatasetName
    block: BlockName


class DatasetReplicaRefIn(_Body):
    dataset: DatasetName
    site: Label


class BlockReplicaRefIn(_Body):
    dataset: DatasetName
    block: BlockName
    site: Label


class InvalidationIn(_Body):
    """What to delete (with everything below it: a dataset takes its blocks and replicas)."""

    datasets: list[DatasetName] = []
    blocks: list[BlockRefIn] = []
    files: list[FileRefIn] = []
    dataset_replicas: list[DatasetReplicaRefIn] = []
    block_replicas: list[BlockReplicaRefIn] = []


class CommitOut(BaseModel):
    operations: int
    log_seqs: list[int]


def _injection(body: InjectionIn) -> Injection:
    return Injection(
        groups=tuple(GroupSpec(g.name, g.olevel) for g in body.groups),
        sites=tuple(
            SiteSpec(s.name, s.host, s.storage_type, s.backend, s.status) for s in body.sites
        ),
        datasets=tuple(
            DatasetSpec(
                name=d.name,
                status=d.status,
                data_type=d.data_type,
                software_version=release_version(d.software_version),
                is_open=d.is_open,
                blocks=tuple(
                    BlockSpec(
                        b.name,
                        b.is_open,
                        tuple(FileSpec(f.lfn, f.size, f.adler32) for f in b.files),
                    )
                    for b in d.blocks
                ),
            )
            for d in body.datasets
        ),
        dataset_replicas=tuple(
            DatasetReplicaSpec(
                dataset=r.dataset,
                site=r.site,
                group=r.group,
                growing=r.growing,
                block_replicas=tuple(
                    BlockReplicaSpec(
                        b.block,
                        b.group,
                        b.is_custodial,
                        b.present.size if b.present else None,
                        b.present.num_files if b.present else None,
                    )
                    for b in r.block_replicas
                ),
            )
            for r in body.dataset_replicas
        ),
    )


async def _files_of_existing(
    inventory: Inventory, service: InventoryService, keys: Sequence[tuple[str, str]]
) -> dict[int, Sequence[File]]:
    """The stored files of the existing blocks among ``keys``, read off the event loop."""
    blocks: list[Block] = []
    for dataset_name, block_name in keys:
        dataset = inventory.datasets.get(dataset_name)
        block = dataset.find_block(block_name) if dataset else None
        if block is not None:
            blocks.append(block)
    read = service.store.files_of
    return await asyncio.to_thread(lambda: {id(b): read(b) for b in blocks})


def _read_injection(data: Any, models: ValidatorFunctionWrapHandler) -> Injection:
    """The common shape read directly; anything else validated by the models (their errors)."""
    found = fast_injection(data)
    return found if found is not None else _injection(models(data))


class _InjectionBody:
    """The body's type in the OpenAPI document and in validation errors: InjectionIn."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(
            _read_injection, handler.generate_schema(InjectionIn)
        )


InjectionBody = Annotated[Injection, _InjectionBody()]


@router.post("/inject", response_model=CommitOut)
async def inject(injection: InjectionBody, service: Service, principal: Writer) -> CommitOut:
    """Add or update groups, sites, datasets with blocks and files, and replicas."""
    keys = [(d.name, b.name) for d in injection.datasets for b in d.blocks]

    async def plan(inventory: Inventory) -> list[Operation]:
        files = await _files_of_existing(inventory, service, keys)
        return injection_ops(injection, inventory, lambda b: files[id(b)], int(time.time()))

    result = await service.commit_plan(plan, grouped=True)
    return CommitOut(operations=result.num_ops, log_seqs=list(result.seqs))


@router.post("/invalidate", response_model=CommitOut)
async def invalidate(body: InvalidationIn, service: Service, principal: Writer) -> CommitOut:
    """Delete datasets, blocks, files and replicas from the inventory."""
    invalidation = Invalidation(
        datasets=tuple(body.datasets),
        blocks=tuple((b.dataset, b.block) for b in body.blocks),
        files=tuple(FileRef(f.dataset, f.block, f.lfn) for f in body.files),
        dataset_replicas=tuple((r.dataset, r.site) for r in body.dataset_replicas),
        block_replicas=tuple((r.dataset, r.block, r.site) for r in body.block_replicas),
    )
    keys = sorted({(f.dataset, f.block) for f in invalidation.files})

    async def plan(inventory: Inventory) -> list[Operation]:
        files = await _files_of_existing(inventory, service, keys)
        return invalidation_ops(invalidation, inventory, lambda b: files[id(b)], int(time.time()))

    result = await service.commit_plan(plan, grouped=True)
    return CommitOut(operations=result.num_ops, log_seqs=list(result.seqs))
