"""Injection and invalidation: from a request to the operations of a ChangeSet.

Injection adds or updates groups, sites, datasets, blocks with their files, and replicas.
A block's size and file count are always the sum over its files: files injected into an
existing block are merged with those the store already has (re-injecting a file changes
nothing), so injection is idempotent. A new block of a dataset gets an (empty, incomplete)
block replica at every *growing* replica of the dataset, owned by that replica's group, for the
transfer system to fill. Fields left out of a dataset or site that already exists keep their
current values.

Invalidation deletes datasets, blocks, files, dataset replicas and block replicas; deleting
files shrinks their blocks accordingly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

from dynamo.errors import InvalidChangeSetError
from dynamo.model import (
    Block,
    DatasetStatus,
    DataType,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteFile,
    File,
    GroupLevel,
    Inventory,
    Operation,
    SiteStatus,
    StorageType,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
    encode_block_name,
)

__all__ = [
    "BlockReplicaSpec",
    "BlockSpec",
    "DatasetReplicaSpec",
    "DatasetSpec",
    "FileRef",
    "FileSpec",
    "GroupSpec",
    "Injection",
    "Invalidation",
    "SiteSpec",
    "injection_ops",
    "invalidation_ops",
]

FilesOf = Callable[[Block], Sequence[File]]
T = TypeVar("T")


class FileSpec(NamedTuple):
    """A file to register (a named tuple: made once per file of an injection, cheaply)."""

    lfn: str
    size: int
    adler32: str = ""


@dataclass(frozen=True, slots=True)
class BlockSpec:
    name: str
    is_open: bool = False
    files: tuple[FileSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """A dataset; None fields keep the current value (or take the default for a new one)."""

    name: str
    status: DatasetStatus | None = None
    data_type: DataType | None = None
    software_version: tuple[int, int, int, str] | None = None
    is_open: bool | None = None
    last_update: int | None = None
    blocks: tuple[BlockSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class SiteSpec:
    name: str
    host: str | None = None
    storage_type: StorageType | None = None
    backend: str | None = None
    status: SiteStatus | None = None


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    olevel: GroupLevel = GroupLevel.BLOCK


@dataclass(frozen=True, slots=True)
class BlockReplicaSpec:
    """A block replica; sizes None means complete; group None means the dataset replica's."""

    block: str
    group: str | None = None
    is_custodial: bool = False
    size: int | None = None
    num_files: int | None = None


@dataclass(frozen=True, slots=True)
class DatasetReplicaSpec:
    dataset: str
    site: str
    group: str | None = None
    growing: bool = False
    block_replicas: tuple[BlockReplicaSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Injection:
    groups: tuple[GroupSpec, ...] = ()
    sites: tuple[SiteSpec, ...] = ()
    datasets: tuple[DatasetSpec, ...] = ()
    dataset_replicas: tuple[DatasetReplicaSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class FileRef:
    dataset: str
    block: str
    lfn: str


@dataclass(frozen=True, slots=True)
class Invalidation:
    datasets: tuple[str, ...] = ()
    blocks: tuple[tuple[str, str], ...] = ()
    files: tuple[FileRef, ...] = ()
    dataset_replicas: tuple[tuple[str, str], ...] = ()
    block_replicas: tuple[tuple[str, str, str], ...] = ()


@dataclass(slots=True)
class _Plan:
    ops: list[Operation] = field(default_factory=list)
    new_blocks: dict[str, list[str]] = field(default_factory=dict)


def injection_ops(
    injection: Injection, inventory: Inventory, files_of: FilesOf, now: int
) -> list[Operation]:
    """The operations that make the inventory hold everything in ``injection``.

    ``files_of`` reads the files the store holds for an existing block. Raises
    InvalidChangeSetError for contradictions inside the request (a file listed twice with
    different sizes); references to unknown objects are caught when the ChangeSet is validated.
    """
    plan = _Plan()
    plan.ops += [UpsertGroup(name=g.name, olevel=g.olevel) for g in injection.groups]
    plan.ops += [_site_op(spec, inventory) for spec in injection.sites]
    for spec in injection.datasets:
        _dataset_ops(spec, inventory, files_of, now, plan)
    growing: dict[str, list[tuple[str, str | None]]] = {}
    for replica in injection.dataset_replicas:
        plan.ops.append(
            UpsertDatasetReplica(
                dataset=replica.dataset,
                site=replica.site,
                group=replica.group,
                growing=replica.growing,
            )
        )
        if replica.growing:
            growing.setdefault(replica.dataset, []).append((replica.site, replica.group))
        for block_replica in replica.block_replicas:
            plan.ops.append(_block_replica_op(replica, block_replica, now))
    _growing_replicas(plan, inventory, growing, now)
    return plan.ops


def _site_op(spec: SiteSpec, inventory: Inventory) -> UpsertSite:
    site = inventory.sites.get(spec.name)
    return UpsertSite(
        name=spec.name,
        host=_pick(spec.host, site.host if site else "", ""),
        storage_type=_pick(
            spec.storage_type, site.storage_type if site else None, StorageType.DISK
        ),
        backend=_pick(spec.backend, site.backend if site else "", ""),
        status=_pick(spec.status, site.status if site else None, SiteStatus.READY),
    )


def _dataset_ops(
    spec: DatasetSpec, inventory: Inventory, files_of: FilesOf, now: int, plan: _Plan
) -> None:
    dataset = inventory.datasets.get(spec.name)
    plan.ops.append(
        UpsertDataset(
            name=spec.name,
            status=_pick(spec.status, dataset.status if dataset else None, DatasetStatus.VALID),
            data_type=_pick(
                spec.data_type, dataset.data_type if dataset else None, DataType.UNKNOWN
            ),
            software_version=spec.software_version
            if spec.software_version is not None
            else (dataset.software_version if dataset else None),
            last_update=_pick(spec.last_update, None, now),
            is_open=_pick(spec.is_open, dataset.is_open if dataset else None, True),
        )
    )
    for block_spec in spec.blocks:
        block = dataset.blocks.get(encode_block_name(block_spec.name)) if dataset else None
        merged = {f.lfn: (f.size, f.adler32) for f in files_of(block)} if block else {}
        listed: dict[str, int] = {}
        for file in block_spec.files:
            if listed.setdefault(file.lfn, file.size) != file.size:
                raise InvalidChangeSetError(
                    f"file {file.lfn} is listed twice in block {spec.name}#{block_spec.name} "
                    f"with sizes {listed[file.lfn]} and {file.size}"
                )
            merged[file.lfn] = (file.size, file.adler32)
        plan.ops.append(
            UpsertBlock(
                dataset=spec.name,
                name=block_spec.name,
                size=sum(size for size, _ in merged.values()),
                num_files=len(merged),
                is_open=block_spec.is_open,
                last_update=now,
            )
        )
        plan.ops += [
            UpsertFile(
                lfn=f.lfn, dataset=spec.name, block=block_spec.name, size=f.size, adler32=f.adler32
            )
            for f in block_spec.files
        ]
        if block is None:
            plan.new_blocks.setdefault(spec.name, []).append(block_spec.name)


def _block_replica_op(
    replica: DatasetReplicaSpec, spec: BlockReplicaSpec, now: int
) -> UpsertBlockReplica:
    return UpsertBlockReplica(
        dataset=replica.dataset,
        block=spec.block,
        site=replica.site,
        group=spec.group if spec.group is not None else replica.group,
        is_custodial=spec.is_custodial,
        size=spec.size,
        num_files=spec.num_files,
        last_update=now,
    )


def _growing_replicas(
    plan: _Plan, inventory: Inventory, requested: dict[str, list[tuple[str, str | None]]], now: int
) -> None:
    """Empty block replicas of new blocks at every growing replica of their dataset."""
    explicit = {
        (op.dataset, op.block, op.site) for op in plan.ops if isinstance(op, UpsertBlockReplica)
    }
    for dataset_name, blocks in plan.new_blocks.items():
        targets = dict(requested.get(dataset_name, []))
        dataset = inventory.datasets.get(dataset_name)
        if dataset is not None:
            for site, replica in dataset.replicas.items():
                if replica.growing:
                    targets.setdefault(site.name, replica.group.name)
        for site_name, group in targets.items():
            for block in blocks:
                if (dataset_name, block, site_name) not in explicit:
                    plan.ops.append(
                        UpsertBlockReplica(
                            dataset=dataset_name,
                            block=block,
                            site=site_name,
                            group=group,
                            size=0,
                            num_files=0,
                            last_update=now,
                        )
                    )


def invalidation_ops(
    invalidation: Invalidation, inventory: Inventory, files_of: FilesOf, now: int
) -> list[Operation]:
    """The operations that delete everything named in ``invalidation``."""
    ops: list[Operation] = [
        DeleteBlockReplica(dataset=d, block=b, site=s) for d, b, s in invalidation.block_replicas
    ]
    ops += [DeleteDatasetReplica(dataset=d, site=s) for d, s in invalidation.dataset_replicas]
    by_block: dict[tuple[str, str], set[str]] = {}
    for ref in invalidation.files:
        by_block.setdefault((ref.dataset, ref.block), set()).add(ref.lfn)
    for (dataset_name, block_name), lfns in by_block.items():
        dataset = inventory.datasets.get(dataset_name)
        block = dataset.find_block(block_name) if dataset else None
        if block is None:
            continue
        kept = [f for f in files_of(block) if f.lfn not in lfns]
        ops += [DeleteFile(lfn=lfn) for lfn in sorted(lfns)]
        ops.append(
            UpsertBlock(
                dataset=dataset_name,
                name=block_name,
                size=sum(f.size for f in kept),
                num_files=len(kept),
                is_open=block.is_open,
                last_update=now,
            )
        )
        # the files are gone everywhere: a replica that held the whole block still does
        ops += [
            UpsertBlockReplica(
                dataset=dataset_name,
                block=block_name,
                site=replica.site.name,
                group=replica.group.name,
                is_custodial=replica.is_custodial,
                last_update=now,
            )
            for replica in block.replicas
            if replica.is_complete()
        ]
    ops += [DeleteBlock(dataset=d, name=b) for d, b in invalidation.blocks]
    ops += [DeleteDataset(name=name) for name in invalidation.datasets]
    return ops


def _pick(given: T | None, current: T | None, default: T) -> T:
    if given is not None:
        return given
    return current if current is not None else default
