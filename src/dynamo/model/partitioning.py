"""Partition membership of block replicas.

Membership is a bit mask on each block replica (bit ``p.index`` for partition ``p``), computed
from the leaf partitions' predicates; a superpartition's bit is the OR of its subpartitions'.
The usage counters that follow from membership live on :class:`SitePartition` and are kept by
the inventory.

Speed: the compiler of a condition reports what the condition reads (its
:class:`PartitionScope`). A leaf that reads only the site and the owner is evaluated once per
(site, owner); one that also reads the dataset once per (dataset, site, owner); only a leaf
that reads the block replica itself is evaluated for every block replica. With the CMS
partitions, 13 of 14 leaves are of the first kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import IntFlag

from dynamo.model.entities import BlockReplica, Dataset, Group, Partition, Site

__all__ = ["PartitionCompiler", "PartitionScope", "PartitionTable"]


class PartitionScope(IntFlag):
    """What a partition condition reads. Attributes of these objects are stable between
    reclassifications: the inventory reclassifies a replica whenever its owner, its site or
    its dataset changes."""

    CONSTANT = 0
    DATASET = 1
    SITE = 2
    OWNER = 4
    BLOCK_REPLICA = 8


PartitionCompiler = Callable[[str], tuple[Callable[[BlockReplica], bool], PartitionScope]]
"""Compiles a partition condition to ``(predicate, scope)``; raises ValueError when invalid."""

# A leaf mask cached per dataset is forgotten past this many entries (the live path only;
# a full reclassification does not use the cache).
_DATASET_CACHE_LIMIT = 200_000


class PartitionTable:
    """The partitions of an inventory, in definition order, and the mask arithmetic over them."""

    __slots__ = (
        "_by_dataset",
        "_by_mask",
        "_by_name",
        "_by_replica",
        "_by_site_owner",
        "_dataset_cache",
        "_scopes",
        "_site_owner_cache",
        "_super_leaves",
        "_with_supers",
    )

    def __init__(self) -> None:
        self._by_name: dict[str, Partition] = {}
        self._scopes: dict[str, PartitionScope] = {}
        self._by_site_owner: list[Partition] = []
        self._by_dataset: list[Partition] = []
        self._by_replica: list[Partition] = []
        self._super_leaves: list[tuple[Partition, int]] = []
        self._site_owner_cache: dict[tuple[Site, Group], int] = {}
        self._dataset_cache: dict[tuple[Dataset, Site, Group], int] = {}
        self._with_supers: dict[int, int] = {}
        self._by_mask: dict[int, tuple[Partition, ...]] = {}

    def __iter__(self) -> Iterator[Partition]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Partition | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Partition:
        return self._by_name[name]

    @property
    def reads_block_replica(self) -> bool:
        """Whether some partition's predicate must see each block replica."""
        return bool(self._by_replica)

    @property
    def reads_dataset(self) -> bool:
        """Whether some partition's predicate reads the dataset (but not the block replica)."""
        return bool(self._by_dataset)

    def define(
        self,
        name: str,
        *,
        condition_text: str | None,
        predicate: Callable[[BlockReplica], bool] | None,
        scope: PartitionScope,
        subpartitions: tuple[Partition, ...],
    ) -> Partition:
        """Create or redefine a partition. The caller then recomputes every mask."""
        partition = self._by_name.get(name)
        if partition is None:
            partition = Partition(name=name, index=len(self._by_name))
            self._by_name[name] = partition
        partition.condition_text = condition_text
        partition.predicate = predicate
        partition.subpartitions = subpartitions
        self._scopes[name] = scope
        leaves = [p for p in self._by_name.values() if not p.is_super and p.predicate]
        self._by_replica = [
            p for p in leaves if self._scopes[p.name] & PartitionScope.BLOCK_REPLICA
        ]
        self._by_dataset = [
            p
            for p in leaves
            if self._scopes[p.name] & PartitionScope.DATASET and p not in self._by_replica
        ]
        self._by_site_owner = [
            p for p in leaves if p not in self._by_replica and p not in self._by_dataset
        ]
        self._super_leaves = [(p, _leaf_mask(p)) for p in self._by_name.values() if p.is_super]
        self._by_mask.clear()
        self.clear_cache()
        return partition

    def clear_cache(self) -> None:
        """Forget cached masks: a dataset, site or group attribute may have changed."""
        self._site_owner_cache.clear()
        self._dataset_cache.clear()
        self._with_supers.clear()

    def mask_of(self, replica: BlockReplica) -> int:
        """The membership mask of a linked block replica, from the caches where possible."""
        site, group = replica.site, replica.group
        mask = self._site_owner_cache.get((site, group))
        if mask is None:
            mask = self._site_owner_cache[(site, group)] = _evaluate(self._by_site_owner, replica)
        if self._by_dataset:
            key = (replica.block.dataset, site, group)
            found = self._dataset_cache.get(key)
            if found is None:
                if len(self._dataset_cache) >= _DATASET_CACHE_LIMIT:
                    self._dataset_cache.clear()
                found = self._dataset_cache[key] = _evaluate(self._by_dataset, replica)
            mask |= found
        if self._by_replica:
            mask |= _evaluate(self._by_replica, replica)
        return self.with_supers(mask)

    def site_owner_mask(self, replica: BlockReplica) -> int:
        """The leaf bits that depend only on the replica's site and owner (cached)."""
        key = (replica.site, replica.group)
        mask = self._site_owner_cache.get(key)
        if mask is None:
            mask = self._site_owner_cache[key] = _evaluate(self._by_site_owner, replica)
        return mask

    def dataset_mask(self, replica: BlockReplica) -> int:
        """The leaf bits that read the dataset but not the block replica (not cached)."""
        return _evaluate(self._by_dataset, replica) if self._by_dataset else 0

    def replica_mask(self, replica: BlockReplica) -> int:
        """The leaf bits that read the block replica itself (not cached)."""
        return _evaluate(self._by_replica, replica) if self._by_replica else 0

    def with_supers(self, leaf_mask: int) -> int:
        """``leaf_mask`` with the bits of every superpartition containing one of its leaves."""
        full = self._with_supers.get(leaf_mask)
        if full is None:
            full = leaf_mask
            for sup, leaves in self._super_leaves:
                if leaf_mask & leaves:
                    full |= 1 << sup.index
            self._with_supers[leaf_mask] = full
        return full

    def compute_mask(self, replica: BlockReplica) -> int:
        """The membership mask from the predicates alone, bypassing every cache."""
        leaves = self._by_site_owner + self._by_dataset + self._by_replica
        mask = _evaluate(leaves, replica)
        for sup, sub_leaves in self._super_leaves:
            if mask & sub_leaves:
                mask |= 1 << sup.index
        return mask

    def partitions_in(self, mask: int) -> tuple[Partition, ...]:
        """The partitions whose bits are set in ``mask``, in definition order."""
        found = self._by_mask.get(mask)
        if found is None:
            found = tuple(p for p in self._by_name.values() if mask >> p.index & 1)
            self._by_mask[mask] = found
        return found


def _evaluate(leaves: list[Partition], replica: BlockReplica) -> int:
    mask = 0
    for leaf in leaves:
        if leaf.predicate is not None and leaf.predicate(replica):
            mask |= 1 << leaf.index
    return mask


def _leaf_mask(partition: Partition) -> int:
    mask = 0
    for sub in partition.subpartitions:
        mask |= _leaf_mask(sub) if sub.is_super else 1 << sub.index
    return mask
