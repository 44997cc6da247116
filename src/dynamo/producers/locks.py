"""The ``locks`` producer: ``blockreplica.is_locked`` from the replica locks of the registry.

At each load it reads the locks active at ``now`` (not released, not expired) from a
:class:`dynamo.registry.RegistryStore` and locks, in :class:`dynamo.policy.Attributes`, every
block replica some lock covers (:mod:`dynamo.registry.coverage`: item, sites and groups). A
dataset replica whose block replicas are all covered is locked whole, which is also what the
evaluation checks fastest.

Cost: only the datasets some lock names are visited (a dict lookup per exact name; dataset
globs go through :class:`dynamo.producers.globs.GlobIndex`, one pass over the names). A lock's
site glob is matched once per dataset replica, and block replicas are looked at only when a
lock names a block or a group.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Protocol

from dynamo.model import BlockReplica, Dataset, DatasetReplica, Inventory
from dynamo.policy import Attributes
from dynamo.policy.attributes import LOCKED_BLOCKS
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.globs import GlobIndex
from dynamo.producers.options import check_keys
from dynamo.registry import LockIndex, LockQuery, RegistryStore, ReplicaLock
from dynamo.registry.patterns import has_glob, split_item
from dynamo.store.registry import SqlRegistryStore

__all__ = ["LockProducer", "lock_covered_replicas"]

log = logging.getLogger(__name__)

NAME: Final = "locks"


class LockProducer:
    """Fills ``locked_blocks`` from the active locks of ``registry``."""

    produces: frozenset[str] = frozenset({LOCKED_BLOCKS})

    def __init__(self, registry: RegistryStore) -> None:
        self.registry = registry

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        locks = self.registry.find_locks(LockQuery(active=True), now)
        replicas = lock_covered_replicas(inventory, locks, attributes)
        log.info("%d active locks cover %d dataset replicas", len(locks), replicas)


@register_producer(NAME, LockProducer.produces)
def _build(config: Mapping[str, Any], sources: ProducerSources) -> LockProducer:
    """``[detox.producers.locks]`` takes no keys: the registry is the store's database."""
    check_keys(config, NAME, ())
    return LockProducer(SqlRegistryStore(sources.need_engine(NAME)))


def lock_covered_replicas(
    inventory: Inventory, locks: Sequence[ReplicaLock], attributes: Attributes
) -> int:
    """Lock in ``attributes`` what ``locks`` cover (all of them count: pass the active ones).

    Returns the number of dataset replicas locked, wholly or in part.
    """
    index = LockIndex(locks)
    locked = 0
    for dataset in _named_datasets(inventory, locks):
        rules = index.rules_for(dataset.name)
        if not rules:
            continue
        for replica in dataset.replicas.values():
            is_covered, blocks = _coverage(replica, rules)
            if is_covered:
                locked += 1
                attributes.lock(dataset.name, replica.site.name, blocks)
    return locked


def _named_datasets(inventory: Inventory, locks: Iterable[ReplicaLock]) -> Iterator[Dataset]:
    """The datasets some lock names: exact names looked up, globs through a :class:`GlobIndex`."""
    datasets = inventory.datasets
    exact: set[str] = set()
    globs: list[tuple[str, None]] = []
    for lock in locks:
        name, _block = split_item(lock.item, allow_glob=True)
        if has_glob(name):
            globs.append((name, None))
        else:
            exact.add(name)
    yield from (datasets[name] for name in sorted(exact) if name in datasets)
    if globs:
        index = GlobIndex(globs)
        yield from (d for name, d in datasets.items() if name not in exact and index.matches(name))


class _Rule(Protocol):
    """What this module reads of a :meth:`LockIndex.rules_for` entry."""

    @property
    def block(self) -> str | None: ...
    @property
    def site(self) -> re.Pattern[str] | None: ...
    @property
    def group(self) -> re.Pattern[str] | None: ...
    def covers(self, replica: BlockReplica) -> bool: ...


def _coverage(replica: DatasetReplica, rules: Sequence[_Rule]) -> tuple[bool, list[str] | None]:
    """``(False, None)``: nothing covered; ``(True, None)``: the whole replica; else
    ``(True, names of the covered blocks)``."""
    site = replica.site.name
    here = [rule for rule in rules if rule.site is None or rule.site.match(site)]
    if not here:
        return False, None
    if any(rule.block is None and rule.group is None for rule in here):
        return True, None
    members = replica.block_replicas.values()
    covered = [br for br in members if any(rule.covers(br) for rule in here)]
    if not covered:
        return False, None
    if len(covered) == len(members):
        return True, None
    return True, [br.block.name for br in covered]
