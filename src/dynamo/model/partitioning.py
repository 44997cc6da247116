"""Partition membership of block replicas.

Membership is a bit mask on each block replica (bit ``p.index`` for partition ``p``), computed
from the leaf partitions' predicates; a superpartition's bit is the OR of its subpartitions'.
The usage counters that follow from membership live on :class:`SitePartition` and are kept by
the inventory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dynamo.model.entities import BlockReplica, Dataset, Group, Partition, Site

__all__ = ["PartitionCompiler", "PartitionTable"]

PartitionCompiler = Callable[[str], tuple[Callable[[BlockReplica], bool], bool]]
"""Compiles a partition condition to ``(predicate, reads_block_replica)``.

``reads_block_replica`` is False when the predicate reads only the dataset, the site and the
owner group, which lets the inventory compute a mask once per (dataset, site, group).
"""


class PartitionTable:
    """The partitions of an inventory, in definition order, and the mask arithmetic over them."""

    __slots__ = ("_by_mask", "_by_name", "_cache", "_leaves", "_needs_replica", "_super_leaves")

    def __init__(self) -> None:
        self._by_name: dict[str, Partition] = {}
        self._needs_replica: dict[str, bool] = {}
        self._leaves: list[Partition] = []
        self._super_leaves: list[tuple[Partition, int]] = []
        self._cache: dict[tuple[Dataset, Site, Group], int] | None = {}
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

    def define(
        self,
        name: str,
        *,
        condition_text: str | None,
        predicate: Callable[[BlockReplica], bool] | None,
        reads_block_replica: bool,
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
        self._needs_replica[name] = reads_block_replica
        self._leaves = [p for p in self._by_name.values() if not p.is_super]
        self._super_leaves = [(p, _leaf_mask(p)) for p in self._by_name.values() if p.is_super]
        per_replica = any(self._needs_replica[p.name] for p in self._leaves)
        self._cache = None if per_replica else {}
        self._by_mask.clear()
        return partition

    def clear_cache(self) -> None:
        """Forget cached masks: a dataset, site or group attribute may have changed."""
        if self._cache is not None:
            self._cache.clear()

    def mask_of(self, replica: BlockReplica) -> int:
        """The membership mask of a linked block replica."""
        cache = self._cache
        if cache is None:
            return self._compute(replica)
        key = (replica.block.dataset, replica.site, replica.group)
        mask = cache.get(key)
        if mask is None:
            mask = cache[key] = self._compute(replica)
        return mask

    def compute_mask(self, replica: BlockReplica) -> int:
        """The membership mask from the predicates, bypassing the cache."""
        return self._compute(replica)

    def _compute(self, replica: BlockReplica) -> int:
        mask = 0
        for leaf in self._leaves:
            if leaf.predicate is not None and leaf.predicate(replica):
                mask |= 1 << leaf.index
        for sup, leaves in self._super_leaves:
            if mask & leaves:
                mask |= 1 << sup.index
        return mask

    def partitions_in(self, mask: int) -> tuple[Partition, ...]:
        """The partitions whose bits are set in ``mask``, in definition order."""
        found = self._by_mask.get(mask)
        if found is None:
            found = tuple(p for p in self._by_name.values() if mask >> p.index & 1)
            self._by_mask[mask] = found
        return found


def _leaf_mask(partition: Partition) -> int:
    mask = 0
    for sub in partition.subpartitions:
        mask |= _leaf_mask(sub) if sub.is_super else 1 << sub.index
    return mask
