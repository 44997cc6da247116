"""Fast construction of an inventory from trusted rows (the store's start-up load).

The loader skips ChangeSet validation: its input comes from the database, which is the truth.
Block replicas are linked without classification; :meth:`BulkLoader.finish` then computes every
partition mask and usage counter in one pass.
"""

from __future__ import annotations

from dynamo.model.entities import (
    Block,
    BlockReplica,
    Dataset,
    DatasetReplica,
    Group,
    Site,
    SitePartition,
    encode_block_name,
)
from dynamo.model.enums import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType
from dynamo.model.inventory import Inventory
from dynamo.model.partitioning import PartitionScope

__all__ = ["BulkLoader"]


class BulkLoader:
    """Builds the object graph of an (empty) inventory, then classifies it once."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def add_group(self, name: str, olevel: GroupLevel = GroupLevel.BLOCK) -> Group:
        group = Group(name=name, olevel=olevel)
        self.inventory.groups[name] = group
        return group

    def add_site(
        self,
        name: str,
        *,
        host: str = "",
        storage_type: StorageType = StorageType.DISK,
        backend: str = "",
        status: SiteStatus = SiteStatus.READY,
    ) -> Site:
        site = Site(name=name, host=host, storage_type=storage_type, backend=backend, status=status)
        self.inventory.sites[name] = site
        for partition in self.inventory.partitions:
            site.partitions[partition] = SitePartition(site=site, partition=partition)
        return site

    def define_partition(
        self, name: str, *, condition: str | None, subpartitions: tuple[str, ...] = ()
    ) -> None:
        inventory = self.inventory
        predicate = None
        scope = PartitionScope.CONSTANT
        if condition is not None:
            predicate, scope = inventory.compile_partition_condition(condition)
        partition = inventory.partitions.define(
            name,
            condition_text=condition,
            predicate=predicate,
            scope=scope,
            subpartitions=tuple(inventory.partitions[sub] for sub in subpartitions),
        )
        for site in inventory.sites.values():
            site.partitions.setdefault(partition, SitePartition(site=site, partition=partition))

    def set_quota(self, site: Site, partition_name: str, quota: int) -> None:
        site.partitions[self.inventory.partitions[partition_name]].quota = quota

    def add_dataset(
        self,
        name: str,
        *,
        status: DatasetStatus = DatasetStatus.VALID,
        data_type: DataType = DataType.UNKNOWN,
        software_version: tuple[int, int, int, str] | None = None,
        last_update: int = 0,
        is_open: bool = True,
    ) -> Dataset:
        dataset = Dataset(
            name=name,
            status=status,
            data_type=data_type,
            software_version=software_version,
            last_update=last_update,
            is_open=is_open,
        )
        self.inventory.datasets[name] = dataset
        return dataset

    def add_block(
        self,
        dataset: Dataset,
        name: str,
        *,
        size: int,
        num_files: int,
        is_open: bool = False,
        last_update: int = 0,
    ) -> Block:
        key = encode_block_name(name)
        block = Block(
            dataset=dataset,
            internal_name=key,
            size=size,
            num_files=num_files,
            is_open=is_open,
            last_update=last_update,
        )
        dataset.blocks[key] = block
        dataset.size += size
        dataset.num_files += num_files
        self.inventory.num_blocks += 1
        return block

    def add_dataset_replica(
        self, dataset: Dataset, site: Site, group: Group, *, growing: bool = False
    ) -> DatasetReplica:
        replica = DatasetReplica(dataset=dataset, site=site, group=group, growing=growing)
        site.dataset_replicas[dataset] = replica
        dataset.replicas[site] = replica
        self.inventory.num_dataset_replicas += 1
        return replica

    def add_block_replica(
        self,
        replica: DatasetReplica,
        block: Block,
        group: Group,
        *,
        is_custodial: bool = False,
        size: int | None = None,
        num_files: int | None = None,
        last_update: int = 0,
    ) -> BlockReplica:
        """Link a block replica into its dataset replica; None sizes mean complete."""
        block_replica = BlockReplica(
            block=block,
            site=replica.site,
            group=group,
            is_custodial=is_custodial,
            size=block.size if size is None else size,
            num_files=block.num_files if num_files is None else num_files,
            last_update=last_update,
        )
        block.replicas.append(block_replica)
        replica.block_replicas[block] = block_replica
        self.inventory.num_block_replicas += 1
        return block_replica

    def finish(self) -> Inventory:
        """Classify every block replica into partitions and fill the usage counters."""
        self.inventory.recompute_partitions()
        return self.inventory
