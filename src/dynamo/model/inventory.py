"""The in-memory inventory: every resident object, indexed by natural key.

:meth:`Inventory.apply` is the only way to change a live inventory: it validates the whole
ChangeSet first (see :mod:`dynamo.model.validation`) and only then mutates, so a rejected
ChangeSet leaves the inventory untouched. The store's bulk loader builds an inventory through
:class:`dynamo.model.loading.BulkLoader`, which trusts its input (the database is the truth).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dynamo.model.changeset import (
    ChangeSet,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteFile,
    DeleteGroup,
    DeleteSite,
    Operation,
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
from dynamo.model.entities import (
    Block,
    BlockReplica,
    Dataset,
    DatasetReplica,
    Group,
    Partition,
    Site,
    SitePartition,
    encode_block_name,
)
from dynamo.model.partitioning import PartitionCompiler, PartitionScope, PartitionTable
from dynamo.model.validation import validate

__all__ = ["Inventory"]


class Inventory:
    """Datasets, blocks, sites, groups, partitions and replicas, linked into one graph."""

    def __init__(self, *, partition_compiler: PartitionCompiler | None = None) -> None:
        self.datasets: dict[str, Dataset] = {}
        self.sites: dict[str, Site] = {}
        self.null_group = Group(name=None)
        self.groups: dict[str | None, Group] = {None: self.null_group}
        self.partitions = PartitionTable()
        self._compiler = partition_compiler
        self.num_blocks = 0
        self.num_dataset_replicas = 0
        self.num_block_replicas = 0
        self._final_sizes: dict[tuple[str, int | str], tuple[int, int]] = {}

    # ------------------------------------------------------------------ queries

    def counts(self) -> dict[str, int]:
        """Number of resident objects of each kind."""
        return {
            "groups": len(self.groups),
            "sites": len(self.sites),
            "partitions": len(self.partitions),
            "datasets": len(self.datasets),
            "blocks": self.num_blocks,
            "dataset_replicas": self.num_dataset_replicas,
            "block_replicas": self.num_block_replicas,
        }

    @property
    def num_objects(self) -> int:
        return sum(self.counts().values())

    def find_block(self, dataset: str, block: str) -> Block | None:
        found = self.datasets.get(dataset)
        return None if found is None else found.find_block(block)

    def find_block_replica(self, dataset: str, block: str, site: str) -> BlockReplica | None:
        found_block = self.find_block(dataset, block)
        found_site = self.sites.get(site)
        if found_block is None or found_site is None:
            return None
        return found_block.find_replica(found_site)

    def iter_dataset_replicas(self) -> Iterator[DatasetReplica]:
        for site in self.sites.values():
            yield from site.dataset_replicas.values()

    def iter_block_replicas(self) -> Iterator[BlockReplica]:
        for site in self.sites.values():
            yield from site.iter_block_replicas()

    def compile_partition_condition(
        self, text: str
    ) -> tuple[Callable[[BlockReplica], bool], PartitionScope]:
        """Compile a partition condition with the configured compiler (ValueError if none)."""
        if self._compiler is None:
            raise ValueError("this inventory has no partition condition compiler")
        return self._compiler(text)

    # ------------------------------------------------------------------ the write path

    def apply(self, changeset: ChangeSet, *, validated: bool = False) -> None:
        """Apply every operation in order, or none of them (InvalidChangeSetError).

        ``validated=True`` skips validation: only for a caller that has just validated this
        ChangeSet against this inventory, with nothing applied since (the store's write path).
        """
        if not validated:
            validate(self, changeset)
        # A complete block replica (null sizes) holds its block as this ChangeSet leaves it,
        # wherever the block's upsert stands in the ChangeSet: applying it again is a no-op.
        self._final_sizes = {
            (op.dataset, encode_block_name(op.name)): (op.size, op.num_files)
            for op in changeset.ops
            if isinstance(op, UpsertBlock)
        }
        try:
            for op in changeset.ops:
                self._apply(op)
        finally:
            self._final_sizes = {}

    def _apply(self, op: Operation) -> None:
        match op:
            case UpsertGroup():
                self._upsert_group(op)
            case DeleteGroup():
                self._delete_group(op.name)
            case UpsertSite():
                self._upsert_site(op)
            case DeleteSite():
                self._delete_site(op.name)
            case UpsertPartition():
                self._upsert_partition(op)
            case SetQuota():
                partition = self.partitions[op.partition]
                self.sites[op.site].partitions[partition].quota = op.quota
            case UpsertDataset():
                self._upsert_dataset(op)
            case DeleteDataset():
                self._delete_dataset(op.name)
            case UpsertBlock():
                self._upsert_block(op)
            case DeleteBlock():
                self._delete_block(op)
            case UpsertDatasetReplica():
                self._upsert_dataset_replica(op)
            case DeleteDatasetReplica():
                self._delete_dataset_replica(op)
            case UpsertBlockReplica():
                self._upsert_block_replica(op)
            case DeleteBlockReplica():
                replica = self.find_block_replica(op.dataset, op.block, op.site)
                if replica is not None:
                    self.unlink_block_replica(replica)
            case UpsertFile() | DeleteFile():
                pass  # files live in the store only

    def _upsert_group(self, op: UpsertGroup) -> None:
        group = self.groups.get(op.name)
        if group is None:
            self.groups[op.name] = Group(name=op.name, olevel=op.olevel)
        else:
            group.olevel = op.olevel

    def _delete_group(self, name: str) -> None:
        group = self.groups.pop(name, None)
        if group is None:
            return
        for replica in self.iter_dataset_replicas():
            if replica.group is group:
                replica.group = self.null_group
        self.partitions.clear_cache()
        for block_replica in self.iter_block_replicas():
            if block_replica.group is group:
                self._reclassify(block_replica, group=self.null_group)

    def _upsert_site(self, op: UpsertSite) -> None:
        site = self.sites.get(op.name)
        if site is None:
            site = Site(name=op.name)
            self.sites[op.name] = site
            for partition in self.partitions:
                site.partitions[partition] = SitePartition(site=site, partition=partition)
        changed = (site.storage_type, site.status) != (op.storage_type, op.status)
        site.host, site.backend = op.host, op.backend
        site.storage_type, site.status = op.storage_type, op.status
        if changed and site.dataset_replicas:
            self.partitions.clear_cache()
            for replica in list(site.iter_block_replicas()):
                self._reclassify(replica)

    def _delete_site(self, name: str) -> None:
        site = self.sites.get(name)
        if site is None:
            return
        for replica in list(site.dataset_replicas.values()):
            self.unlink_dataset_replica(replica)
        del self.sites[name]

    def _upsert_partition(self, op: UpsertPartition) -> None:
        predicate = None
        scope = PartitionScope.CONSTANT
        if op.condition is not None:
            predicate, scope = self.compile_partition_condition(op.condition)
        partition = self.partitions.define(
            op.name,
            condition_text=op.condition,
            predicate=predicate,
            scope=scope,
            subpartitions=tuple(self.partitions[name] for name in op.subpartitions),
        )
        for site in self.sites.values():
            site.partitions.setdefault(partition, SitePartition(site=site, partition=partition))
        self.recompute_partitions()

    def recompute_partitions(self) -> None:
        """Recompute every membership mask and every usage counter from scratch.

        One pass per site: a mask is computed once per (dataset replica, owner) when no
        partition reads the block replica itself, and usage is summed per mask before it is
        spread over the partitions of that mask.
        """
        table = self.partitions
        table.clear_cache()
        per_replica = table.reads_block_replica
        for site in self.sites.values():
            for usage in site.partitions.values():
                usage.physical_bytes = usage.projected_bytes = 0
            totals: dict[int, list[int]] = {}
            for replica in site.dataset_replicas.values():
                # Keyed by id(): the resident groups are unique, and int hashing is cheaper.
                by_group: dict[int, int] = {}
                for block_replica in replica.block_replicas.values():
                    mask = by_group.get(id(block_replica.group))
                    if mask is None:
                        leaves = table.site_owner_mask(block_replica)
                        leaves |= table.dataset_mask(block_replica)
                        mask = by_group[id(block_replica.group)] = leaves
                    mask = table.with_supers(
                        mask | table.replica_mask(block_replica) if per_replica else mask
                    )
                    block_replica.partition_mask = mask
                    if mask:
                        total = totals.get(mask)
                        if total is None:
                            total = totals[mask] = [0, 0]
                        total[0] += block_replica.size
                        total[1] += block_replica.block.size
            for mask, (physical, projected) in totals.items():
                for partition in table.partitions_in(mask):
                    usage = site.partitions[partition]
                    usage.physical_bytes += physical
                    usage.projected_bytes += projected

    def _upsert_dataset(self, op: UpsertDataset) -> None:
        dataset = self.datasets.get(op.name)
        if dataset is None:
            dataset = Dataset(name=op.name)
            self.datasets[op.name] = dataset
        before = (
            dataset.status,
            dataset.data_type,
            dataset.software_version,
            dataset.last_update,
            dataset.is_open,
        )
        after = (op.status, op.data_type, op.software_version, op.last_update, op.is_open)
        dataset.status, dataset.data_type = op.status, op.data_type
        dataset.software_version = op.software_version
        dataset.last_update, dataset.is_open = op.last_update, op.is_open
        if before != after and dataset.replicas:
            # Any dataset attribute may enter a partition condition: reclassify its replicas.
            self.partitions.clear_cache()
            for replica in dataset.replicas.values():
                for block_replica in list(replica.block_replicas.values()):
                    self._reclassify(block_replica)

    def _delete_dataset(self, name: str) -> None:
        dataset = self.datasets.get(name)
        if dataset is None:
            return
        for replica in list(dataset.replicas.values()):
            self.unlink_dataset_replica(replica)
        self.num_blocks -= len(dataset.blocks)
        del self.datasets[name]
        # Break the dataset <-> block cycle, so reference counting frees them even when the
        # server has frozen its image out of the cyclic collector's reach.
        dataset.blocks.clear()

    def _upsert_block(self, op: UpsertBlock) -> None:
        dataset = self.datasets[op.dataset]
        key = encode_block_name(op.name)
        block = dataset.blocks.get(key)
        if block is None:
            block = Block(dataset=dataset, internal_name=key)
            dataset.blocks[key] = block
            self.num_blocks += 1
        dataset.size += op.size - block.size
        dataset.num_files += op.num_files - block.num_files
        if op.size != block.size:
            for replica in block.replicas:
                self._account(replica, -1)
            block.size = op.size
            for replica in block.replicas:
                self._account(replica, 1)
        block.num_files, block.is_open, block.last_update = op.num_files, op.is_open, op.last_update

    def _delete_block(self, op: DeleteBlock) -> None:
        dataset = self.datasets.get(op.dataset)
        block = None if dataset is None else dataset.blocks.get(encode_block_name(op.name))
        if dataset is None or block is None:
            return
        for replica in list(block.replicas):
            self.unlink_block_replica(replica)
        dataset.size -= block.size
        dataset.num_files -= block.num_files
        del dataset.blocks[block.internal_name]
        self.num_blocks -= 1

    def _upsert_dataset_replica(self, op: UpsertDatasetReplica) -> None:
        dataset, site = self.datasets[op.dataset], self.sites[op.site]
        group = self.groups[op.group]
        replica = site.dataset_replicas.get(dataset)
        if replica is None:
            self.link_dataset_replica(
                DatasetReplica(dataset=dataset, site=site, group=group, growing=op.growing)
            )
        else:
            replica.group, replica.growing = group, op.growing

    def _delete_dataset_replica(self, op: DeleteDatasetReplica) -> None:
        dataset, site = self.datasets.get(op.dataset), self.sites.get(op.site)
        if dataset is not None and site is not None:
            replica = site.dataset_replicas.get(dataset)
            if replica is not None:
                self.unlink_dataset_replica(replica)

    def _upsert_block_replica(self, op: UpsertBlockReplica) -> None:
        key = encode_block_name(op.block)
        block = self.datasets[op.dataset].blocks[key]
        site = self.sites[op.site]
        group = self.groups[op.group]
        if op.size is None or op.num_files is None:
            size, num_files = self._final_sizes.get(
                (op.dataset, key), (block.size, block.num_files)
            )
        else:
            size, num_files = op.size, op.num_files
        replica = block.find_replica(site)
        if replica is None:
            self.link_block_replica(
                BlockReplica(
                    block=block,
                    site=site,
                    group=group,
                    is_custodial=op.is_custodial,
                    size=size,
                    num_files=num_files,
                    last_update=op.last_update,
                )
            )
            return
        self._account(replica, -1)
        replica.size, replica.num_files = size, num_files
        replica.is_custodial, replica.last_update = op.is_custodial, op.last_update
        if replica.group is not group:
            replica.group = group
            replica.partition_mask = self.partitions.mask_of(replica)
        self._account(replica, 1)

    # ------------------------------------------------------------------ graph primitives

    def link_dataset_replica(self, replica: DatasetReplica) -> None:
        replica.site.dataset_replicas[replica.dataset] = replica
        replica.dataset.replicas[replica.site] = replica
        self.num_dataset_replicas += 1

    def unlink_dataset_replica(self, replica: DatasetReplica) -> None:
        for block_replica in list(replica.block_replicas.values()):
            self.unlink_block_replica(block_replica)
        del replica.site.dataset_replicas[replica.dataset]
        del replica.dataset.replicas[replica.site]
        self.num_dataset_replicas -= 1

    def link_block_replica(self, replica: BlockReplica) -> None:
        """Link a block replica whose dataset replica exists; classify and account it."""
        replica.block.replicas.append(replica)
        replica.site.dataset_replicas[replica.block.dataset].block_replicas[replica.block] = replica
        replica.partition_mask = self.partitions.mask_of(replica)
        self._account(replica, 1)
        self.num_block_replicas += 1

    def unlink_block_replica(self, replica: BlockReplica) -> None:
        self._account(replica, -1)
        replica.block.replicas.remove(replica)
        del replica.site.dataset_replicas[replica.block.dataset].block_replicas[replica.block]
        self.num_block_replicas -= 1

    def _reclassify(self, replica: BlockReplica, *, group: Group | None = None) -> None:
        self._account(replica, -1)
        if group is not None:
            replica.group = group
        replica.partition_mask = self.partitions.mask_of(replica)
        self._account(replica, 1)

    def _account(self, replica: BlockReplica, sign: int) -> None:
        if not replica.partition_mask:
            return
        physical = sign * replica.size
        projected = sign * replica.block.size
        usage_by_partition = replica.site.partitions
        for partition in self.partitions.partitions_in(replica.partition_mask):
            usage = usage_by_partition[partition]
            usage.physical_bytes += physical
            usage.projected_bytes += projected

    def site_partition(self, site: str, partition: str) -> SitePartition:
        found: Partition = self.partitions[partition]
        return self.sites[site].partitions[found]
