"""The net effect of a validated ChangeSet on the tables, as a plan grouped by table.

Upserts carry whole states and deletions of rows that exist commute, so the ordered ChangeSet
can be rewritten as: every deletion first (of rows that exist before the ChangeSet), then the
*last* upsert of every key, parents before children. The rewrite applies the model's cascades
while it walks the operations: a deletion drops the pending upserts of the children it takes
with it, and deleting a group re-owns pending replicas to the null group. The result equals
applying the operations one by one, and it lets the writer issue one bulk statement per table
instead of one per operation.

Block replica sizes need care: in memory a complete replica (``size=None``) takes the block's
size *at that moment* and keeps it if the block later changes, while the table stores NULL for
"complete, whatever the block's size". The plan therefore resolves every replica's size when
its operation is reached, and stores NULL only if it equals the block's final size; the writer
also freezes the sizes of NULL rows of blocks whose size changes (``resized_blocks``).

The planner is pure: it reads the inventory (the state before the ChangeSet) and never
mutates it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from dynamo.model import (
    ChangeSet,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteFile,
    DeleteGroup,
    DeleteSite,
    Inventory,
    SetQuota,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertPartition,
    UpsertSite,
)

__all__ = [
    "BlockKey",
    "BlockReplicaRow",
    "ReplicaKey",
    "WritePlan",
    "plan_changeset",
    "plan_changesets",
]

BlockKey = tuple[str, str]
"""(dataset name, block name)."""
ReplicaKey = tuple[str, str]
"""(dataset name, site name)."""
_Sizes = tuple[int, int]


@dataclass(slots=True)
class BlockReplicaRow:
    """The final state of a block replica; ``size``/``num_files`` None means complete."""

    dataset: str
    block: str
    site: str
    group: str | None
    is_custodial: bool
    size: int | None
    num_files: int | None
    last_update: int


@dataclass(slots=True)
class WritePlan:
    """Rows to delete (keys that exist before the ChangeSet) and final rows to upsert."""

    delete_groups: set[str] = field(default_factory=set)
    delete_sites: set[str] = field(default_factory=set)
    delete_datasets: set[str] = field(default_factory=set)
    delete_blocks: set[BlockKey] = field(default_factory=set)
    delete_files: set[str] = field(default_factory=set)
    delete_dataset_replicas: set[ReplicaKey] = field(default_factory=set)
    delete_block_replicas: set[tuple[str, str, str]] = field(default_factory=set)
    groups: dict[str, UpsertGroup] = field(default_factory=dict)
    sites: dict[str, UpsertSite] = field(default_factory=dict)
    partitions: dict[str, UpsertPartition] = field(default_factory=dict)
    quotas: dict[tuple[str, str], SetQuota] = field(default_factory=dict)
    datasets: dict[str, UpsertDataset] = field(default_factory=dict)
    blocks: dict[BlockKey, UpsertBlock] = field(default_factory=dict)
    files: dict[str, UpsertFile] = field(default_factory=dict)
    dataset_replicas: dict[ReplicaKey, UpsertDatasetReplica] = field(default_factory=dict)
    block_replicas: dict[tuple[str, str, str], BlockReplicaRow] = field(default_factory=dict)
    resized_blocks: list[BlockKey] = field(default_factory=list)
    """Existing blocks whose size or file count changes: their NULL replica rows get frozen."""

    def touched_file_blocks(self) -> set[BlockKey]:
        """Blocks whose file lists may change (deleted files need a lookup by the writer)."""
        touched = {(f.dataset, f.block) for f in self.files.values()}
        touched.update(self.delete_blocks)
        return touched


class _Planner:
    def __init__(self, inventory: Inventory) -> None:
        self.inv = inventory
        self.plan = WritePlan()
        # Pending child keys per parent, so that a deletion drops them without a full scan.
        self.children: defaultdict[Hashable, list[tuple[dict[Any, Any], Hashable]]] = defaultdict(
            list
        )
        self.sizes: dict[BlockKey, _Sizes | None] = {}
        # complete replicas (null sizes) upserted by the current ChangeSet of a group
        self.complete: list[BlockReplicaRow] = []

    def end_changeset(self) -> None:
        """A ChangeSet of a group ends: its complete replicas hold their block as it leaves
        it, which a later ChangeSet may change (``finish`` restores NULL where equal)."""
        for row in self.complete:
            key = (row.dataset, row.block, row.site)
            if self.plan.block_replicas.get(key) is row:
                row.size, row.num_files = self.block_sizes((row.dataset, row.block))
        self.complete.clear()

    def _remember(
        self, parents: tuple[Hashable, ...], table: dict[Any, Any], key: Hashable
    ) -> None:
        for parent in parents:
            self.children[parent].append((table, key))

    def _drop_children(self, parent: Hashable) -> None:
        for table, key in self.children.pop(parent, ()):
            table.pop(key, None)

    def block_sizes(self, key: BlockKey) -> _Sizes:
        if key in self.sizes:
            found = self.sizes[key]
        else:
            block = self.inv.find_block(*key)
            found = None if block is None else (block.size, block.num_files)
        if found is None:  # pragma: no cover - validation guarantees the block exists
            raise KeyError(f"block {key[0]}#{key[1]} does not exist")
        return found

    def upsert(self, op: object) -> None:
        plan = self.plan
        match op:
            case UpsertFile(lfn=lfn, dataset=dataset, block=block):  # the most common first
                plan.files[lfn] = op
                children = self.children
                children[("dataset", dataset)].append((plan.files, lfn))
                children[("block", dataset, block)].append((plan.files, lfn))
            case UpsertGroup(name=name):
                plan.groups[name] = op
            case UpsertSite(name=name):
                plan.sites[name] = op
            case UpsertPartition(name=name):
                plan.partitions[name] = op
            case SetQuota(site=site, partition=partition):
                plan.quotas[(site, partition)] = op
                self._remember((("site", site),), plan.quotas, (site, partition))
            case UpsertDataset(name=name):
                plan.datasets[name] = op
            case UpsertBlock(dataset=dataset, name=name):
                plan.blocks[(dataset, name)] = op
                self.sizes[(dataset, name)] = (op.size, op.num_files)
                self._remember((("dataset", dataset),), plan.blocks, (dataset, name))
            case UpsertDatasetReplica(dataset=dataset, site=site):
                plan.dataset_replicas[(dataset, site)] = op
                self._remember(
                    (("dataset", dataset), ("site", site)), plan.dataset_replicas, (dataset, site)
                )
            case UpsertBlockReplica():
                self._upsert_block_replica(op)

    def _upsert_block_replica(self, op: UpsertBlockReplica) -> None:
        # Null sizes: complete, i.e. the block as this ChangeSet leaves it (a NULL row).
        size, num_files = op.size, op.num_files
        key = (op.dataset, op.block, op.site)
        self.plan.block_replicas[key] = BlockReplicaRow(
            op.dataset,
            op.block,
            op.site,
            op.group,
            op.is_custodial,
            size,
            num_files,
            op.last_update,
        )
        parents = (
            ("dataset", op.dataset),
            ("site", op.site),
            ("block", op.dataset, op.block),
            ("dreplica", op.dataset, op.site),
        )
        self._remember(parents, self.plan.block_replicas, key)
        if size is None:
            self.complete.append(self.plan.block_replicas[key])

    def delete(self, op: object) -> None:
        plan = self.plan
        match op:
            case DeleteGroup(name=name):
                plan.groups.pop(name, None)
                plan.delete_groups.add(name)
                for replica in plan.dataset_replicas.values():
                    if replica.group == name:
                        plan.dataset_replicas[(replica.dataset, replica.site)] = _regroup(replica)
                for row in plan.block_replicas.values():
                    if row.group == name:
                        row.group = None
            case DeleteSite(name=name):
                plan.sites.pop(name, None)
                plan.delete_sites.add(name)
                self._drop_children(("site", name))
            case DeleteDataset(name=name):
                plan.datasets.pop(name, None)
                plan.delete_datasets.add(name)
                self._drop_children(("dataset", name))
                for key in [k for k in self.sizes if k[0] == name]:
                    self.sizes[key] = None
            case DeleteBlock(dataset=dataset, name=name):
                plan.blocks.pop((dataset, name), None)
                plan.delete_blocks.add((dataset, name))
                self._drop_children(("block", dataset, name))
                self.sizes[(dataset, name)] = None
            case DeleteFile(lfn=lfn):
                plan.files.pop(lfn, None)
                plan.delete_files.add(lfn)
            case DeleteDatasetReplica(dataset=dataset, site=site):
                plan.dataset_replicas.pop((dataset, site), None)
                plan.delete_dataset_replicas.add((dataset, site))
                self._drop_children(("dreplica", dataset, site))
            case DeleteBlockReplica(dataset=dataset, block=block, site=site):
                plan.block_replicas.pop((dataset, block, site), None)
                plan.delete_block_replicas.add((dataset, block, site))

    def finish(self) -> WritePlan:
        plan = self.plan
        for row in plan.block_replicas.values():
            final = self.block_sizes((row.dataset, row.block))
            if (row.size, row.num_files) == final:
                row.size = row.num_files = None
        deleted_datasets = plan.delete_datasets
        for key, op in plan.blocks.items():
            if key in plan.delete_blocks or key[0] in deleted_datasets:
                continue  # recreated: its old replica rows are gone with the old block
            block = self.inv.find_block(*key)
            if block is not None and (block.size, block.num_files) != (op.size, op.num_files):
                plan.resized_blocks.append(key)
        return plan


_DELETIONS = (
    DeleteGroup,
    DeleteSite,
    DeleteDataset,
    DeleteBlock,
    DeleteFile,
    DeleteDatasetReplica,
    DeleteBlockReplica,
)


def _regroup(replica: UpsertDatasetReplica) -> UpsertDatasetReplica:
    return UpsertDatasetReplica(
        dataset=replica.dataset, site=replica.site, group=None, growing=replica.growing
    )


def plan_changeset(changeset: ChangeSet, inventory: Inventory) -> WritePlan:
    """The net effect of ``changeset`` (already validated against ``inventory``) per table."""
    return plan_changesets([changeset], inventory)


def plan_changesets(changesets: Iterable[ChangeSet], inventory: Inventory) -> WritePlan:
    """The net effect of applying ``changesets`` one after another (a group commit; each
    validated against the state the ones before it leave) per table."""
    planner = _Planner(inventory)
    for changeset in changesets:
        for op in changeset.ops:
            if isinstance(op, _DELETIONS):
                planner.delete(op)
            else:
                planner.upsert(op)
        planner.end_changeset()
    return planner.finish()
