"""Reversible edits of an inventory image, for planners that must see the state after a step.

:class:`ImageEditor` unlinks block and dataset replicas through the inventory's graph
primitives (so sizes, usage and counts follow) and remembers what it touched: each container
(a block's replica list, a dataset replica's block map, a dataset's and a site's replica maps)
and each site's partition usage, as they were before the first edit. :meth:`restore` puts
those back as they were, order included, and the inventory's counters: the inventory is
indistinguishable from before (``describe()`` and iteration order alike). Restoring costs the
number of containers touched, not of replicas unlinked; an unlink leaves a replica's own fields
(its partition mask included) as they were, so nothing needs to be recomputed.
"""

from __future__ import annotations

from typing import TypeVar

from dynamo.model import (
    Block,
    BlockReplica,
    Dataset,
    DatasetReplica,
    Inventory,
    Site,
    SitePartition,
)

__all__ = ["ImageEditor"]

K = TypeVar("K")
V = TypeVar("V")


class ImageEditor:
    """See the module docstring. Not thread-safe; one editor per image at a time."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._edits = 0
        self._block_replicas = 0
        self._dataset_replicas = 0
        self._block_lists: dict[int, tuple[Block, list[BlockReplica]]] = {}
        self._replica_maps: dict[int, tuple[DatasetReplica, dict[Block, BlockReplica]]] = {}
        self._dataset_maps: dict[int, tuple[Dataset, dict[Site, DatasetReplica]]] = {}
        self._site_maps: dict[int, tuple[Site, dict[Dataset, DatasetReplica]]] = {}
        self._usages: dict[int, list[tuple[SitePartition, int, int]]] = {}

    @property
    def num_edits(self) -> int:
        return self._edits

    def unlink(self, replica: BlockReplica) -> None:
        """Take a block replica out of the image (its dataset replica stays)."""
        block = replica.block
        if id(block) not in self._block_lists:
            self._block_lists[id(block)] = (block, list(block.replicas))
        site = replica.site
        owner = site.dataset_replicas[block.dataset]
        if id(owner) not in self._replica_maps:
            self._replica_maps[id(owner)] = (owner, dict(owner.block_replicas))
        if id(site) not in self._usages:
            self._usages[id(site)] = [
                (usage, usage.physical_bytes, usage.projected_bytes)
                for usage in site.partitions.values()
            ]
        self.inventory.unlink_block_replica(replica)
        self._block_replicas += 1
        self._edits += 1

    def unlink_all(self, owner: DatasetReplica, replicas: list[BlockReplica]) -> None:
        """Take block replicas of one dataset replica out of the image (it stays): what
        :meth:`unlink` does one by one, with the bookkeeping done once."""
        block_lists = self._block_lists
        for replica in replicas:
            block = replica.block
            if id(block) not in block_lists:
                block_lists[id(block)] = (block, list(block.replicas))
        if id(owner) not in self._replica_maps:
            self._replica_maps[id(owner)] = (owner, dict(owner.block_replicas))
        site = owner.site
        if id(site) not in self._usages:
            self._usages[id(site)] = [
                (usage, usage.physical_bytes, usage.projected_bytes)
                for usage in site.partitions.values()
            ]
        inventory = self.inventory
        by_mask: dict[int, list[int]] = {}
        block_map = owner.block_replicas
        every = len(replicas) == len(block_map)  # then one clear() instead of a del each
        for replica in replicas:
            block = replica.block
            if replica.partition_mask:
                sums = by_mask.get(replica.partition_mask)
                if sums is None:
                    sums = by_mask[replica.partition_mask] = [0, 0]
                sums[0] += replica.size
                sums[1] += block.size
            siblings = block.replicas  # remove by identity: no natural-key comparisons
            for index, each in enumerate(siblings):
                if each is replica:
                    del siblings[index]
                    break
            else:
                raise ValueError(f"{replica!r} is not linked to its block")
            if not every:
                del block_map[block]
        if every:
            block_map.clear()
        usage_by_partition = site.partitions
        for mask, (physical, projected) in by_mask.items():
            for partition in inventory.partitions.partitions_in(mask):
                usage = usage_by_partition[partition]
                usage.physical_bytes -= physical
                usage.projected_bytes -= projected
        inventory.num_block_replicas -= len(replicas)
        self._block_replicas += len(replicas)
        self._edits += len(replicas)

    def unlink_dataset_replica(self, replica: DatasetReplica) -> None:
        """Take a dataset replica and its remaining block replicas out of the image."""
        for block_replica in list(replica.block_replicas.values()):
            self.unlink(block_replica)
        dataset, site = replica.dataset, replica.site
        if id(dataset) not in self._dataset_maps:
            self._dataset_maps[id(dataset)] = (dataset, dict(dataset.replicas))
        if id(site) not in self._site_maps:
            self._site_maps[id(site)] = (site, dict(site.dataset_replicas))
        self.inventory.unlink_dataset_replica(replica)
        self._dataset_replicas += 1
        self._edits += 1

    def restore(self) -> None:
        """Undo every edit: containers, usages and counters as they were before the first."""
        for block, replicas in self._block_lists.values():
            block.replicas[:] = replicas
        for owner, block_map in self._replica_maps.values():
            _reorder(owner.block_replicas, block_map)
        for dataset, site_map in self._dataset_maps.values():
            _reorder(dataset.replicas, site_map)
        for site, dataset_map in self._site_maps.values():
            _reorder(site.dataset_replicas, dataset_map)
        for saved in self._usages.values():
            for usage, physical, projected in saved:
                usage.physical_bytes = physical
                usage.projected_bytes = projected
        self.inventory.num_block_replicas += self._block_replicas
        self.inventory.num_dataset_replicas += self._dataset_replicas
        self._block_lists.clear()
        self._replica_maps.clear()
        self._dataset_maps.clear()
        self._site_maps.clear()
        self._usages.clear()
        self._block_replicas = self._dataset_replicas = self._edits = 0


def _reorder(live: dict[K, V], original: dict[K, V]) -> None:
    live.clear()
    live.update(original)
