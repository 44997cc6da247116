"""Quantities that policies read and the model derives (copy counts, tape state, ...).

Each function takes a :class:`Frame` (and a block replica for block-level quantities). Values
that depend on the whole dataset are cached per dataset for one evaluation pass.
"""

from __future__ import annotations

from dynamo.model import BlockReplica, Dataset, DatasetReplica, SiteStatus, StorageType
from dynamo.policy.context import EvaluationContext, Frame

__all__ = [
    "ON_TAPE_FULL",
    "ON_TAPE_NONE",
    "ON_TAPE_PARTIAL",
    "block_is_last_transfer_source",
    "block_num_full_disk_copy",
    "block_on_tape",
    "dataset_num_full_disk_copy",
    "dataset_on_tape",
    "dataset_release",
    "replica_first_block_created",
    "replica_incomplete",
    "replica_last_block_created",
    "replica_num_full_disk_copy_common_owner",
    "replica_num_full_other_copy_common_owner",
    "replica_size",
]

ON_TAPE_NONE, ON_TAPE_FULL, ON_TAPE_PARTIAL = 0, 1, 2

_DISK, _MSS, _READY = StorageType.DISK, StorageType.MSS, SiteStatus.READY

# (replica, is_full, owner group names) for every replica of a dataset
_ReplicaFacts = tuple[tuple[DatasetReplica, bool, frozenset[str | None]], ...]


def _replica_facts(ctx: EvaluationContext, dataset: Dataset) -> _ReplicaFacts:
    facts = ctx.dataset_facts(dataset)
    found = facts.get("replicas")
    if found is None:
        found = tuple(
            (
                replica,
                replica.is_full(),
                frozenset(br.group.name for br in replica.block_replicas.values()),
            )
            for replica in dataset.replicas.values()
        )
        facts["replicas"] = found
    return found  # type: ignore[return-value]


def dataset_on_tape(frame: Frame) -> int:
    """FULL if a full replica is on a tape (MSS) site, PARTIAL if only a partial one, else NONE."""
    assert frame.dataset is not None
    state = ON_TAPE_NONE
    for replica, is_full, _owners in _replica_facts(frame.ctx, frame.dataset):
        if replica.site.storage_type is _MSS:
            if is_full:
                return ON_TAPE_FULL
            state = ON_TAPE_PARTIAL
    return state


def dataset_num_full_disk_copy(frame: Frame) -> int:
    """Full replicas on ready disk sites."""
    assert frame.dataset is not None
    return sum(
        1
        for replica, is_full, _owners in _replica_facts(frame.ctx, frame.dataset)
        if is_full and replica.site.storage_type is _DISK and replica.site.status is _READY
    )


def dataset_release(frame: Frame) -> str:
    """The software version as ``X_Y_Z[_suffix]`` (empty when unknown)."""
    assert frame.dataset is not None
    version = frame.dataset.software_version
    if version is None:
        return ""
    cycle, major, minor, suffix = version
    text = f"{cycle}_{major}_{minor}"
    return f"{text}_{suffix}" if suffix else text


def replica_size(frame: Frame) -> int:
    return sum(br.size for br in frame.block_replicas)


def replica_incomplete(frame: Frame) -> bool:
    return not all(br.is_complete() for br in frame.block_replicas)


def replica_last_block_created(frame: Frame) -> int:
    return max((br.last_update for br in frame.block_replicas), default=0)


def replica_first_block_created(frame: Frame) -> int:
    return min((br.last_update for br in frame.block_replicas), default=0)


def _common_owner_copies(frame: Frame, *, include_self: bool, disk_only: bool) -> int:
    assert frame.dataset is not None
    own = frozenset(br.group.name for br in frame.block_replicas)
    count = 0
    for replica, is_full, owners in _replica_facts(frame.ctx, frame.dataset):
        site = replica.site
        if site is frame.site:
            if include_self and is_full and (not disk_only or site.storage_type is _DISK):
                count += 1
            continue
        if not is_full or site.status is not _READY or own.isdisjoint(owners):
            continue
        if disk_only and site.storage_type is not _DISK:
            continue
        count += 1
    return count


def replica_num_full_disk_copy_common_owner(frame: Frame) -> int:
    """Full replicas on ready disk sites sharing an owner group with this one, this one included."""
    return _common_owner_copies(frame, include_self=True, disk_only=True)


def replica_num_full_other_copy_common_owner(frame: Frame) -> int:
    """Full replicas at other ready sites sharing an owner group with this one."""
    return _common_owner_copies(frame, include_self=False, disk_only=False)


def block_is_last_transfer_source(frame: Frame, replica: BlockReplica) -> bool:
    """Complete, no other complete copy on a ready disk site, and an incomplete copy exists."""
    if not replica.is_complete():
        return False
    has_incomplete = False
    for other in replica.block.replicas:
        if other is replica:
            continue
        if not other.is_complete():
            has_incomplete = True
        elif other.site.storage_type is _DISK and other.site.status is _READY:
            return False
    return has_incomplete


def block_num_full_disk_copy(frame: Frame, replica: BlockReplica) -> int:
    """Complete replicas of the block, on any kind of site (as the original counted)."""
    return sum(1 for other in replica.block.replicas if other.is_complete())


def block_on_tape(frame: Frame, replica: BlockReplica) -> bool:
    """A complete replica of the block is on a tape (MSS) site."""
    return any(
        other.site.storage_type is _MSS and other.is_complete() for other in replica.block.replicas
    )
