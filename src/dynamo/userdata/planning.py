"""Pure planners of user data: what to commit for a registration, a completion, the set-up of
a site's quota, a consolidation step and the deletion of a dataset. No I/O, no clock.

Blocks: a file registered at a site goes into the dataset's open block of that site (named
``<site>-<n>``, see :func:`~dynamo.userdata.naming.block_name`), or a new one; the block is
closed when it reaches ``max_files_per_block``. A block therefore never spans sites: its
origin replica is the only one until the dataset is consolidated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dynamo.model import (
    Block,
    Dataset,
    DeleteDataset,
    Inventory,
    Operation,
    SetQuota,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertPartition,
)
from dynamo.userdata.errors import QuotaExceededError, UserDataStateError
from dynamo.userdata.naming import block_name
from dynamo.userdata.options import UserDataOptions

__all__ = [
    "ConsolidationStep",
    "Registration",
    "RegistrationPlan",
    "check_room",
    "completion_ops",
    "consolidation_step",
    "purge_ops",
    "quota_ops",
    "registration_ops",
    "site_blocks",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """A verified file to register: it is at ``site`` under ``lfn``."""

    dataset: str
    lfn: str
    site: str
    size: int
    adler32: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationPlan:
    ops: tuple[Operation, ...]
    block: str
    is_block_closed: bool
    is_new_dataset: bool


def site_blocks(dataset: Dataset, site: str) -> list[Block]:
    """The blocks created at ``site``, oldest first."""
    prefix = f"{site}-"
    return sorted(
        (b for b in dataset.blocks.values() if b.name.startswith(prefix)), key=lambda b: b.name
    )


def check_room(inventory: Inventory, site: str, size: int, options: UserDataOptions) -> None:
    """QuotaExceededError unless ``site`` gives user data a quota with room for ``size`` bytes."""
    found = inventory.sites.get(site)
    partition = inventory.partitions.get(options.partition)
    share = found.partitions.get(partition) if found is not None and partition else None
    if share is None or share.quota == 0:
        raise QuotaExceededError(f"site {site} gives no quota to user data")
    quota = share.effective_quota()
    if 0 <= quota < share.projected_bytes + size:
        raise QuotaExceededError(
            f"site {site}: {size} bytes more would exceed its user-data quota "
            f"({share.projected_bytes} of {quota} bytes used)"
        )


def registration_ops(
    inventory: Inventory, registration: Registration, options: UserDataOptions, now: int
) -> RegistrationPlan:
    """The operations that register one verified file (see the module docstring for blocks).

    UserDataStateError for a dataset that is complete (closed) or whose site is unknown.
    """
    r = registration
    if r.site not in inventory.sites:
        raise UserDataStateError(f"no site named {r.site!r}")
    dataset = inventory.datasets.get(r.dataset)
    ops: list[Operation] = []
    if options.group not in inventory.groups:
        ops.append(UpsertGroup(name=options.group))
    blocks: list[Block] = []
    if dataset is None:
        ops.append(UpsertDataset(name=r.dataset, last_update=now, is_open=True))
    elif not dataset.is_open:
        raise UserDataStateError(f"dataset {r.dataset} is complete: no file may be added")
    else:
        blocks = site_blocks(dataset, r.site)
    current = blocks[-1] if blocks and blocks[-1].is_open else None
    if current is None:
        name, size, num_files = block_name(r.site, len(blocks) + 1), 0, 0
    else:
        name, size, num_files = current.name, current.size, current.num_files
    num_files += 1
    is_closed = num_files >= options.max_files_per_block
    ops.append(
        UpsertBlock(
            dataset=r.dataset,
            name=name,
            size=size + r.size,
            num_files=num_files,
            is_open=not is_closed,
            last_update=now,
        )
    )
    ops.append(UpsertFile(lfn=r.lfn, dataset=r.dataset, block=name, size=r.size, adler32=r.adler32))
    site = inventory.sites[r.site]
    if dataset is None or site not in dataset.replicas:
        ops.append(UpsertDatasetReplica(dataset=r.dataset, site=r.site, group=options.group))
    ops.append(
        UpsertBlockReplica(
            dataset=r.dataset, block=name, site=r.site, group=options.group, last_update=now
        )
    )
    return RegistrationPlan(
        ops=tuple(ops), block=name, is_block_closed=is_closed, is_new_dataset=dataset is None
    )


def completion_ops(dataset: Dataset, now: int) -> list[Operation]:
    """Close the dataset and its open blocks ("processing complete")."""
    ops: list[Operation] = [
        UpsertBlock(
            dataset=dataset.name,
            name=block.name,
            size=block.size,
            num_files=block.num_files,
            is_open=False,
            last_update=now,
        )
        for block in sorted(dataset.blocks.values(), key=lambda b: b.name)
        if block.is_open
    ]
    ops.append(
        UpsertDataset(
            name=dataset.name,
            status=dataset.status,
            data_type=dataset.data_type,
            software_version=dataset.software_version,
            last_update=now,
            is_open=False,
        )
    )
    return ops


def quota_ops(
    inventory: Inventory, site: str, quota: int, options: UserDataOptions
) -> list[Operation]:
    """Define the UserData partition (and its group) if needed and set ``site``'s quota."""
    if site not in inventory.sites:
        raise UserDataStateError(f"no site named {site!r}")
    ops: list[Operation] = []
    if options.group not in inventory.groups:
        ops.append(UpsertGroup(name=options.group))
    if options.partition not in inventory.partitions:
        ops.append(UpsertPartition(name=options.partition, condition=options.partition_condition))
    ops.append(SetQuota(site=site, partition=options.partition, quota=quota))
    return ops


@dataclass(slots=True)
class ConsolidationStep:
    """What one pass does for a dataset subscribed to ``target``: ``ops`` create the empty
    replicas there, ``transfers`` are the blocks whose files to subscribe to the target,
    ``deletions`` the (block, site) copies to delete; ``is_done`` when nothing is left
    anywhere but at the target (and the dataset is complete)."""

    ops: list[Operation] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    deletions: list[tuple[str, str]] = field(default_factory=list)
    is_done: bool = False


def consolidation_step(
    dataset: Dataset, target: str, options: UserDataOptions, now: int
) -> ConsolidationStep:
    """Bring every block of ``dataset`` to ``target``; once a closed block is complete there,
    delete its copies elsewhere. Run it until ``is_done``."""
    step = ConsolidationStep()
    site_replicas = {s.name: r for s, r in dataset.replicas.items()}
    if target not in site_replicas:
        step.ops.append(
            UpsertDatasetReplica(dataset=dataset.name, site=target, group=options.group)
        )
    scattered = False
    for block in sorted(dataset.blocks.values(), key=lambda b: b.name):
        at_target = None
        others = []
        for replica in block.replicas:
            if replica.site.name == target:
                at_target = replica
            else:
                others.append(replica.site.name)
        if at_target is None:
            step.ops.append(
                UpsertBlockReplica(
                    dataset=dataset.name,
                    block=block.name,
                    site=target,
                    group=options.group,
                    size=0,
                    num_files=0,
                    last_update=now,
                )
            )
        if at_target is None or not at_target.is_complete():
            step.transfers.append(block.name)
        elif not block.is_open:
            step.deletions += [(block.name, site) for site in sorted(others)]
        scattered = scattered or bool(others)
    step.is_done = not dataset.is_open and not step.transfers and not scattered
    return step


def purge_ops(dataset: Dataset) -> Sequence[Operation]:
    """Forget a dataset being deleted once no replica holds a file of it any more."""
    if any(r.num_files > 0 for b in dataset.blocks.values() for r in b.replicas):
        return ()
    return (DeleteDataset(name=dataset.name),)
