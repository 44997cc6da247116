"""Validation of a ChangeSet against an inventory, before anything is applied.

The validator walks the operations in order over a *shadow* of the inventory: the keys created
and deleted so far by earlier operations of the same ChangeSet, on top of the inventory's own
keys. Deletions cascade in the shadow as they do in the inventory (a deleted dataset takes its
blocks and replicas), so "delete then recreate" and "create then use" both validate correctly.
The first problem raises :class:`InvalidChangeSetError` naming the operation and the field.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from dynamo.errors import InvalidChangeSetError
from dynamo.model.changeset import (
    ChangeSet,
    DeleteBlock,
    DeleteDataset,
    DeleteDatasetReplica,
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
from dynamo.model.entities import encode_block_name

if TYPE_CHECKING:
    from dynamo.model.inventory import Inventory

__all__ = ["SequenceValidator", "validate"]

_BlockKey = tuple[str, int | str]
_ReplicaKey = tuple[str, str]


class _Shadow:
    """Which keys exist after the operations validated so far."""

    def __init__(self, inventory: Inventory) -> None:
        self.inv = inventory
        self.created: dict[str, set[object]] = {
            k: set() for k in ("site", "group", "dataset", "block", "dreplica", "partition")
        }
        self.deleted: dict[str, set[object]] = {
            k: set() for k in ("site", "group", "dataset", "block", "dreplica")
        }
        self.supers: set[str] = set()
        # deleted at some point, even if re-created since: their resident children are gone
        self.wiped: dict[str, set[object]] = {"dataset": set(), "site": set()}

    def _in(self, kind: str, key: object, resident: bool) -> bool:
        if key in self.created[kind]:
            return True
        return resident and key not in self.deleted[kind]

    def has_site(self, name: str) -> bool:
        return self._in("site", name, name in self.inv.sites)

    def has_group(self, name: str | None) -> bool:
        return name is None or self._in("group", name, name in self.inv.groups)

    def has_dataset(self, name: str) -> bool:
        return self._in("dataset", name, name in self.inv.datasets)

    def has_partition(self, name: str) -> bool:
        return name in self.created["partition"] or name in self.inv.partitions

    def is_super(self, name: str) -> bool:
        partition = self.inv.partitions.get(name)
        return name in self.supers or (partition is not None and partition.is_super)

    def has_block(self, key: _BlockKey) -> bool:
        if not self.has_dataset(key[0]):
            return False
        if key in self.created["block"]:
            return True
        dataset = self.inv.datasets.get(key[0])
        resident = (
            dataset is not None and key[1] in dataset.blocks and key[0] not in self.wiped["dataset"]
        )
        return resident and key not in self.deleted["block"]

    def has_dataset_replica(self, key: _ReplicaKey) -> bool:
        if not (self.has_dataset(key[0]) and self.has_site(key[1])):
            return False
        if key in self.created["dreplica"]:
            return True
        site = self.inv.sites.get(key[1])
        dataset = self.inv.datasets.get(key[0])
        resident = (
            site is not None
            and dataset is not None
            and dataset in site.dataset_replicas
            and key[0] not in self.wiped["dataset"]
            and key[1] not in self.wiped["site"]
        )
        return resident and key not in self.deleted["dreplica"]

    def create(self, kind: str, key: object) -> None:
        self.created[kind].add(key)
        if kind in self.deleted:
            self.deleted[kind].discard(key)

    def delete(self, kind: str, key: object) -> None:
        self.created[kind].discard(key)
        self.deleted[kind].add(key)
        if kind in self.wiped:
            self.wiped[kind].add(key)
        if kind == "dataset":
            self._drop_children(key, 0)
        elif kind == "site":
            self.created["dreplica"] = {k for k in self.created["dreplica"] if k[1] != key}  # type: ignore[index]

    def _drop_children(self, name: object, position: int) -> None:
        for kind in ("block", "dreplica"):
            self.created[kind] = {k for k in self.created[kind] if k[position] != name}  # type: ignore[index]


def validate(inventory: Inventory, changeset: ChangeSet) -> None:
    """Raise InvalidChangeSetError unless every operation can be applied in order."""
    _walk(_Shadow(inventory), changeset)


def _walk(shadow: _Shadow, changeset: ChangeSet) -> None:
    for index, op in enumerate(changeset.ops):
        problem = _check(shadow, op)
        if problem is not None:
            raise InvalidChangeSetError(f"{op.kind}: {problem}", index=index)
        _record(shadow, op)


class SequenceValidator:
    """Validates ChangeSets one after another, each against the state the *accepted* ones
    before it would leave (a group commit: none of them is applied yet).

    :meth:`check` of ChangeSets ``c1..cn`` accepts ``ck`` exactly when ``validate`` would
    accept it after ``inventory.apply`` of the accepted ones among ``c1..ck-1``; a rejected
    ChangeSet leaves no trace. The inventory is only read.
    """

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory
        self._shadow = _Shadow(inventory)
        self._accepted: list[Operation] = []

    def check(self, changeset: ChangeSet) -> None:
        """Accept ``changeset`` or raise InvalidChangeSetError (then as if never checked)."""
        try:
            _walk(self._shadow, changeset)
        except InvalidChangeSetError:
            # the walk stopped part way: rebuild the shadow from the accepted operations
            self._shadow = _Shadow(self._inventory)
            for op in self._accepted:
                _record(self._shadow, op)
            raise
        self._accepted.extend(changeset.ops)


def _check(shadow: _Shadow, op: Operation) -> str | None:
    """The first problem of ``op`` given the shadow state, or None."""
    match op:
        case UpsertFile(dataset=dataset, block=block, lfn=lfn, size=size):  # the most common
            if not shadow.has_block((dataset, encode_block_name(block))):
                return f"unknown block {dataset}#{block}"
            return _name_problem("lfn", lfn) or _negative("size", size)
        case UpsertGroup(name=name):
            return _label_problem("name", name)
        case UpsertSite(name=name):
            return _name_problem("name", name)
        case UpsertDataset(name=name, last_update=t):
            return (
                _name_problem("name", name)
                or _dataset_name_problem(name)
                or _negative("last_update", t)
            )
        case UpsertPartition():
            return _check_partition(shadow, op)
        case SetQuota():
            return _check_quota(shadow, op)
        case UpsertBlock(dataset=dataset, name=name):
            if not shadow.has_dataset(dataset):
                return f"unknown dataset {dataset!r}"
            return (
                _name_problem("name", name)
                or _negative("size", op.size)
                or _negative("num_files", op.num_files)
                or _negative("last_update", op.last_update)
            )
        case UpsertDatasetReplica(dataset=dataset, site=site, group=group):
            return _refs(shadow, dataset=dataset, site=site, group=group)
        case UpsertBlockReplica(dataset=dataset, block=block, site=site, group=group):
            return _check_block_replica(shadow, op) or _refs(
                shadow, dataset=dataset, site=site, group=group, block=block
            )
    return None  # deletions of what does not exist are no-ops


def _record(shadow: _Shadow, op: Operation) -> None:
    """Update the shadow with the keys ``op`` creates or deletes."""
    match op:
        case UpsertFile():  # the most common: files are not in the shadow
            return
        case UpsertGroup(name=name):
            shadow.create("group", name)
        case UpsertSite(name=name):
            shadow.create("site", name)
        case UpsertDataset(name=name):
            shadow.create("dataset", name)
        case UpsertPartition(name=name, subpartitions=subs):
            shadow.created["partition"].add(name)
            if subs:
                shadow.supers.add(name)
        case UpsertBlock(dataset=dataset, name=name):
            shadow.create("block", (dataset, encode_block_name(name)))
        case UpsertDatasetReplica(dataset=dataset, site=site):
            shadow.create("dreplica", (dataset, site))
        case DeleteGroup(name=name):
            shadow.delete("group", name)
        case DeleteSite(name=name):
            shadow.delete("site", name)
        case DeleteDataset(name=name):
            shadow.delete("dataset", name)
        case DeleteBlock(dataset=dataset, name=name):
            shadow.delete("block", (dataset, encode_block_name(name)))
        case DeleteDatasetReplica(dataset=dataset, site=site):
            shadow.delete("dreplica", (dataset, site))


def _check_quota(shadow: _Shadow, op: SetQuota) -> str | None:
    if not shadow.has_site(op.site):
        return f"unknown site {op.site!r}"
    if not shadow.has_partition(op.partition):
        return f"unknown partition {op.partition!r}"
    if shadow.is_super(op.partition):
        return f"partition {op.partition!r} is a superpartition; set its subpartitions' quotas"
    return None


def _check_partition(shadow: _Shadow, op: UpsertPartition) -> str | None:
    problem = _label_problem("name", op.name)
    if problem:
        return problem
    if (op.condition is None) == (not op.subpartitions):
        return "a partition has either a condition or subpartitions, not both nor neither"
    for sub in op.subpartitions:
        if sub == op.name:
            return f"partition {op.name!r} cannot contain itself"
        if not shadow.has_partition(sub):
            return f"unknown subpartition {sub!r}"
    existing = shadow.inv.partitions.get(op.name)
    if existing is not None and existing.is_super != bool(op.subpartitions):
        return f"partition {op.name!r} cannot change between plain and superpartition"
    if op.condition is not None:
        try:
            shadow.inv.compile_partition_condition(op.condition)
        except ValueError as exc:
            return f"condition of partition {op.name!r}: {exc}"
    return None


def _check_block_replica(shadow: _Shadow, op: UpsertBlockReplica) -> str | None:
    if (op.size is None) != (op.num_files is None):
        return "size and num_files are both given (incomplete replica) or both null (complete)"
    return (
        _negative("size", op.size)
        or _negative("num_files", op.num_files)
        or _negative("last_update", op.last_update)
    )


def _refs(
    shadow: _Shadow,
    *,
    dataset: str,
    site: str,
    group: str | None,
    block: str | None = None,
) -> str | None:
    if not shadow.has_dataset(dataset):
        return f"unknown dataset {dataset!r}"
    if not shadow.has_site(site):
        return f"unknown site {site!r}"
    if not shadow.has_group(group):
        return f"unknown group {group!r}"
    if block is not None:
        if not shadow.has_block((dataset, encode_block_name(block))):
            return f"unknown block {dataset}#{block}"
        if not shadow.has_dataset_replica((dataset, site)):
            return f"no replica of dataset {dataset!r} at site {site!r}; upsert it first"
    return None


_WHITESPACE = re.compile(r"\s")
_CONTROL_WHITESPACE = re.compile(r"[^\S ]")


def _name_problem(field: str, value: str) -> str | None:
    if not value or _WHITESPACE.search(value):
        return f"field {field!r} has value {value!r}; names are non-empty and have no spaces"
    return None


def _label_problem(field: str, value: str) -> str | None:
    """Group and partition names may hold inner spaces (CMS has "IB RelVal")."""
    if not value or value != value.strip() or _CONTROL_WHITESPACE.search(value):
        return (
            f"field {field!r} has value {value!r}; names are non-empty, without leading or "
            f"trailing spaces, tabs or newlines"
        )
    return None


def _dataset_name_problem(name: str) -> str | None:
    if "#" in name:
        return f"field 'name' has value {name!r}; a dataset name cannot contain '#'"
    return None


def _negative(field: str, value: int | None) -> str | None:
    if value is not None and value < 0:
        return f"field {field!r} has value {value}; it cannot be negative"
    return None
