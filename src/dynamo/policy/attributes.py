"""Facts that policies read but the model does not hold, filled by attribute producers.

A producer (locks registry, popularity, enforcer, ...) writes into an :class:`Attributes`
container before an evaluation pass; compiled policies only read it. Values are keyed by natural
names (dataset name; dataset and site names), so the container can be built from any source
without holding model objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from dynamo.model import BlockReplica, Inventory, encode_block_name

__all__ = [
    "AGE_RELATIVE_TO_NEWEST",
    "DEMAND_RANK",
    "ENFORCER_PROTECTED",
    "LAST_ACCESS",
    "LOCKED_BLOCKS",
    "NUM_ACCESS",
    "USAGE_RANK",
    "AttributeProducer",
    "Attributes",
    "StaticProducer",
]

LAST_ACCESS = "last_access"
NUM_ACCESS = "num_access"
USAGE_RANK = "global_usage_rank"
DEMAND_RANK = "global_demand_rank"
ENFORCER_PROTECTED = "enforcer_protected"
LOCKED_BLOCKS = "locked_blocks"
AGE_RELATIVE_TO_NEWEST = "age_relative_to_newest"

_ALL = None


class Attributes:
    """Per-dataset, per-replica and per-block-replica attribute values, and replica locks.

    ``dataset[attr][dataset_name]``, ``replica[attr][(dataset_name, site_name)]`` and
    ``block[attr][(dataset_name, block_name, site_name)]`` hold values; a missing entry reads as
    the variable's default (0, False or the epoch).
    """

    __slots__ = ("_locked_datasets", "_locks", "block", "dataset", "replica")

    def __init__(self) -> None:
        self.dataset: dict[str, dict[str, object]] = {}
        self.replica: dict[str, dict[tuple[str, str], object]] = {}
        self.block: dict[str, dict[tuple[str, str, str], object]] = {}
        self._locks: dict[tuple[str, str], set[int | str] | None] = {}
        self._locked_datasets: set[str] = set()

    def set_dataset(self, attribute: str, dataset: str, value: object) -> None:
        self.dataset.setdefault(attribute, {})[dataset] = value

    def set_replica(self, attribute: str, dataset: str, site: str, value: object) -> None:
        self.replica.setdefault(attribute, {})[(dataset, site)] = value

    def set_block(self, attribute: str, dataset: str, block: str, site: str, value: object) -> None:
        self.block.setdefault(attribute, {})[(dataset, block, site)] = value

    def lock(self, dataset: str, site: str, blocks: Iterable[str] | None = None) -> None:
        """Lock the replica of ``dataset`` at ``site``: the given blocks, or all (None)."""
        key = (dataset, site)
        self._locked_datasets.add(dataset)
        if blocks is None:
            self._locks[key] = _ALL
            return
        current = self._locks.get(key, set())
        if current is not _ALL:
            assert current is not None
            current.update(encode_block_name(name) for name in blocks)
            self._locks[key] = current

    def has_locks(self, dataset: str) -> bool:
        """Whether some replica of ``dataset`` has a lock."""
        return dataset in self._locked_datasets

    def is_locked(self, replica: BlockReplica) -> bool:
        """Whether the block replica is locked (``blockreplica.is_locked``)."""
        name = replica.block.dataset.name
        if name not in self._locked_datasets:
            return False
        key = (name, replica.site.name)
        if key not in self._locks:
            return False
        blocks = self._locks[key]
        return blocks is _ALL or replica.block.internal_name in blocks

    @property
    def num_locks(self) -> int:
        return len(self._locks)


class AttributeProducer(Protocol):
    """Fills attributes from an outside source before an evaluation pass."""

    produces: frozenset[str]

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None: ...


class StaticProducer:
    """The in-memory producer: copies a prepared :class:`Attributes` (tests, dry runs)."""

    def __init__(self, source: Attributes, produces: frozenset[str]) -> None:
        self.source = source
        self.produces = produces

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        for name, values in self.source.dataset.items():
            attributes.dataset.setdefault(name, {}).update(values)
        for rname, rvalues in self.source.replica.items():
            attributes.replica.setdefault(rname, {}).update(rvalues)
        for bname, bvalues in self.source.block.items():
            attributes.block.setdefault(bname, {}).update(bvalues)
        attributes._locks.update(self.source._locks)
        attributes._locked_datasets.update(self.source._locked_datasets)
