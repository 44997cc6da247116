"""Which block replicas a set of locks covers (Detox's ``blockreplica.is_locked``).

:class:`LockIndex` is built once per evaluation: locks on exact datasets (and blocks) are
indexed by dataset name, dataset globs are compiled once and pre-screened by one combined
regex, so checking a replica costs a dict lookup plus the few locks on its dataset, and listing
every covered replica visits only the datasets that some lock names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import translate

from dynamo.model import BlockReplica, Dataset, Inventory
from dynamo.registry.locks import ReplicaLock
from dynamo.registry.patterns import compile_glob, has_glob, split_item

__all__ = ["LockIndex", "locked_block_replicas"]


@dataclass(frozen=True, slots=True)
class _Rule:
    """One lock, compiled: an optional block and the site and group regexes (None: any)."""

    lock: ReplicaLock
    block: str | None
    site: re.Pattern[str] | None
    group: re.Pattern[str] | None

    def covers(self, replica: BlockReplica) -> bool:
        if self.block is not None and replica.block.name != self.block:
            return False
        if self.site is not None and not self.site.match(replica.site.name):
            return False
        return self.group is None or self.group.match(replica.group.name or "") is not None


class LockIndex:
    """The given locks, indexed for coverage queries. Pass only the locks that should count
    (usually :func:`dynamo.registry.active_locks` at the evaluation's ``now``)."""

    def __init__(self, locks: Iterable[ReplicaLock]) -> None:
        self._exact: dict[str, list[_Rule]] = {}
        self._globs: list[tuple[re.Pattern[str], _Rule]] = []
        glob_texts: list[str] = []
        for lock in locks:
            dataset, block = split_item(lock.item, allow_glob=True)
            rule = _Rule(
                lock,
                block,
                compile_glob(lock.sites) if lock.sites is not None else None,
                compile_glob(lock.groups) if lock.groups is not None else None,
            )
            if has_glob(dataset):
                self._globs.append((compile_glob(dataset), rule))
                glob_texts.append(translate(dataset))
            else:
                self._exact.setdefault(dataset, []).append(rule)
        self._any_glob = (
            re.compile("|".join(f"(?:{t})" for t in glob_texts)) if glob_texts else None
        )

    def __len__(self) -> int:
        return sum(map(len, self._exact.values())) + len(self._globs)

    def rules_for(self, dataset_name: str) -> list[_Rule]:
        """The compiled locks that name ``dataset_name`` exactly or by glob."""
        rules = list(self._exact.get(dataset_name, ()))
        if self._any_glob is not None and self._any_glob.match(dataset_name):
            rules.extend(rule for regex, rule in self._globs if regex.match(dataset_name))
        return rules

    def locks_covering(self, replica: BlockReplica) -> list[ReplicaLock]:
        """The locks that cover ``replica``."""
        return [r.lock for r in self.rules_for(replica.block.dataset.name) if r.covers(replica)]

    def covers(self, replica: BlockReplica) -> bool:
        """Whether some lock covers ``replica``."""
        return any(r.covers(replica) for r in self.rules_for(replica.block.dataset.name))

    def covered_replicas(self, inventory: Inventory) -> set[BlockReplica]:
        """Every block replica of ``inventory`` that some lock covers."""
        covered: set[BlockReplica] = set()
        for dataset in self._locked_datasets(inventory):
            rules = self.rules_for(dataset.name)
            for dataset_replica in dataset.replicas.values():
                for replica in dataset_replica.block_replicas.values():
                    if any(rule.covers(replica) for rule in rules):
                        covered.add(replica)
        return covered

    def _locked_datasets(self, inventory: Inventory) -> Iterable[Dataset]:
        datasets = inventory.datasets
        if self._any_glob is None:
            return [datasets[name] for name in self._exact if name in datasets]
        screen = self._any_glob.match
        return [d for name, d in datasets.items() if name in self._exact or screen(name)]


def locked_block_replicas(inventory: Inventory, locks: Iterable[ReplicaLock]) -> set[BlockReplica]:
    """The block replicas of ``inventory`` covered by ``locks`` (all of them count: filter
    with :func:`dynamo.registry.active_locks` first)."""
    return LockIndex(locks).covered_replicas(inventory)
