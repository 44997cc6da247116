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
from dynamo.userdata.errors import DuplicateNameError, QuotaExceededError, UserDataStateError
from dynamo.userdata.naming import block_name
from dynamo.userdata.options import UserDataOptions

__all__ = [
    "ConsolidationStep",
    "Registration",
    "RegistrationBatch",
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


def check_room(
    inventory: Inventory, site: str, size: int, options: UserDataOptions, *, planned: int = 0
) -> None:
    """QuotaExceededError unless ``site`` gives user data a quota with room for ``size`` more
    bytes (beyond ``planned`` bytes already planned there)."""
    found = inventory.sites.get(site)
    partition = inventory.partitions.get(options.partition)
    share = found.partitions.get(partition) if found is not None and partition else None
    if share is None or share.quota == 0:
        raise QuotaExceededError(f"site {site} gives no quota to user data")
    quota = share.effective_quota()
    used = share.projected_bytes + planned
    if 0 <= quota < used + size:
        raise QuotaExceededError(
            f"site {site}: {size} bytes more would exceed its user-data quota "
            f"({used} of {quota} bytes used)"
        )


@dataclass(slots=True)
class _OpenBlock:
    name: str
    index: int
    size: int
    num_files: int
    is_open: bool


class RegistrationBatch:
    """Plans the registration of several verified files in one ChangeSet: each :meth:`add`
    sees the blocks, datasets, replicas and quota use the earlier ones planned."""

    def __init__(self, inventory: Inventory, options: UserDataOptions, now: int) -> None:
        self.inventory = inventory
        self.options = options
        self.now = now
        self.ops: list[Operation] = []
        self._blocks: dict[tuple[str, str], _OpenBlock] = {}
        self._datasets: set[str] = set()
        self._replicas: set[tuple[str, str]] = set()
        self._lfns: set[str] = set()
        self._bytes: dict[str, int] = {}
        if options.group not in inventory.groups:
            self.ops.append(UpsertGroup(name=options.group))

    def add(self, registration: Registration) -> RegistrationPlan:
        """Plan one file; UserDataStateError, QuotaExceededError or DuplicateNameError leave
        the batch as it was."""
        r = registration
        if r.site not in self.inventory.sites:
            raise UserDataStateError(f"no site named {r.site!r}")
        if r.lfn in self._lfns:
            raise DuplicateNameError(f"{r.lfn} is registered already")
        dataset = self.inventory.datasets.get(r.dataset)
        if dataset is not None and not dataset.is_open:
            raise UserDataStateError(f"dataset {r.dataset} is complete: no file may be added")
        check_room(self.inventory, r.site, r.size, self.options, planned=self._bytes.get(r.site, 0))
        block = self._block(dataset, r.dataset, r.site)
        is_new_dataset = dataset is None and r.dataset not in self._datasets
        if is_new_dataset:
            self.ops.append(UpsertDataset(name=r.dataset, last_update=self.now, is_open=True))
            self._datasets.add(r.dataset)
        block.size += r.size
        block.num_files += 1
        block.is_open = block.num_files < self.options.max_files_per_block
        self.ops.append(
            UpsertBlock(
                dataset=r.dataset,
                name=block.name,
                size=block.size,
                num_files=block.num_files,
                is_open=block.is_open,
                last_update=self.now,
            )
        )
        self.ops.append(
            UpsertFile(
                lfn=r.lfn, dataset=r.dataset, block=block.name, size=r.size, adler32=r.adler32
            )
        )
        site = self.inventory.sites[r.site]
        has_replica = dataset is not None and site in dataset.replicas
        if not has_replica and (r.dataset, r.site) not in self._replicas:
            self.ops.append(
                UpsertDatasetReplica(dataset=r.dataset, site=r.site, group=self.options.group)
            )
            self._replicas.add((r.dataset, r.site))
        self.ops.append(
            UpsertBlockReplica(
                dataset=r.dataset,
                block=block.name,
                site=r.site,
                group=self.options.group,
                last_update=self.now,
            )
        )
        self._lfns.add(r.lfn)
        self._bytes[r.site] = self._bytes.get(r.site, 0) + r.size
        return RegistrationPlan(
            ops=(),
            block=block.name,
            is_block_closed=not block.is_open,
            is_new_dataset=is_new_dataset,
        )

    def _block(self, dataset: Dataset | None, name: str, site: str) -> _OpenBlock:
        """The open block of ``name`` at ``site`` (a new one after a closed one)."""
        key = (name, site)
        found = self._blocks.get(key)
        if found is None:
            blocks = site_blocks(dataset, site) if dataset is not None else []
            last = blocks[-1] if blocks else None
            if last is not None and last.is_open:
                found = _OpenBlock(last.name, len(blocks), last.size, last.num_files, True)
            else:
                found = _OpenBlock("", len(blocks), 0, 0, False)
        if not found.is_open:
            index = found.index + 1
            found = _OpenBlock(block_name(site, index), index, 0, 0, True)
        self._blocks[key] = found
        return found


def registration_ops(
    inventory: Inventory, registration: Registration, options: UserDataOptions, now: int
) -> RegistrationPlan:
    """The operations that register one verified file (see the module docstring for blocks).

    UserDataStateError for a dataset that is complete (closed) or a site that is unknown;
    QuotaExceededError when the site's quota has no room for it.
    """
    batch = RegistrationBatch(inventory, options, now)
    made = batch.add(registration)
    return RegistrationPlan(
        ops=tuple(batch.ops),
        block=made.block,
        is_block_closed=made.is_block_closed,
        is_new_dataset=made.is_new_dataset,
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
