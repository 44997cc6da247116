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
    "dataset_has_incomplete_replica",
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

# (replica, is_full) for every replica of a dataset
_ReplicaFacts = tuple[tuple[DatasetReplica, bool], ...]


def _replica_facts(ctx: EvaluationContext, dataset: Dataset) -> _ReplicaFacts:
    facts = ctx.dataset_facts(dataset)
    found = facts.get("replicas")
    if found is None:
        found = facts["replicas"] = tuple(
            (replica, _is_full(replica)) for replica in dataset.replicas.values()
        )
    return found  # type: ignore[return-value]


def _full_replica_owners(
    ctx: EvaluationContext, dataset: Dataset
) -> list[tuple[DatasetReplica, frozenset[str | None]]]:
    """(replica, owner group names) of the full replicas of the dataset at ready sites."""
    facts = ctx.dataset_facts(dataset)
    found = facts.get("full_owners")
    if found is None:
        found = facts["full_owners"] = [
            (replica, frozenset(br.group.name for br in replica.block_replicas.values()))
            for replica, is_full in _replica_facts(ctx, dataset)
            if is_full and replica.site.status is _READY
        ]
    return found  # type: ignore[return-value]


def dataset_on_tape(frame: Frame) -> int:
    """FULL if a full replica is on a tape (MSS) site, PARTIAL if only a partial one, else NONE."""
    assert frame.dataset is not None
    facts = frame.ctx.dataset_facts(frame.dataset)
    cached = facts.get("on_tape")
    if cached is not None:
        return cached  # type: ignore[return-value]
    state = ON_TAPE_NONE
    for replica, is_full in _replica_facts(frame.ctx, frame.dataset):
        if replica.site.storage_type is _MSS:
            if is_full:
                state = ON_TAPE_FULL
                break
            state = ON_TAPE_PARTIAL
    facts["on_tape"] = state
    return state


def dataset_num_full_disk_copy(frame: Frame) -> int:
    """Full replicas on ready disk sites."""
    assert frame.dataset is not None
    return sum(
        1
        for replica, is_full in _replica_facts(frame.ctx, frame.dataset)
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


def _is_complete(br: BlockReplica) -> bool:
    block = br.block
    return br.size == block.size and br.num_files == block.num_files


def _is_full(replica: DatasetReplica) -> bool:
    replicas = replica.block_replicas
    if len(replicas) != len(replica.dataset.blocks):
        return False
    for br in replicas.values():
        block = br.block
        if br.size != block.size or br.num_files != block.num_files:
            return False
    return True


def replica_incomplete(frame: Frame) -> bool:
    for br in frame.block_replicas:
        block = br.block
        if br.size != block.size or br.num_files != block.num_files:
            return True
    return False


def replica_last_block_created(frame: Frame) -> int:
    return max((br.last_update for br in frame.block_replicas), default=0)


def replica_first_block_created(frame: Frame) -> int:
    return min((br.last_update for br in frame.block_replicas), default=0)


def _common_owner_copies(frame: Frame, *, include_self: bool, disk_only: bool) -> int:
    assert frame.dataset is not None
    full = _full_replica_owners(frame.ctx, frame.dataset)
    if not full:
        return 0
    own = frozenset(br.group.name for br in frame.block_replicas)
    count = 0
    for replica, owners in full:
        site = replica.site
        if disk_only and site.storage_type is not _DISK:
            continue
        if site is frame.site:
            count += include_self
        elif not own.isdisjoint(owners):
            count += 1
    return count


def replica_num_full_disk_copy_common_owner(frame: Frame) -> int:
    """Full replicas on ready disk sites sharing an owner group with this one, this one included."""
    return _common_owner_copies(frame, include_self=True, disk_only=True)


def replica_num_full_other_copy_common_owner(frame: Frame) -> int:
    """Full replicas at other ready sites sharing an owner group with this one."""
    return _common_owner_copies(frame, include_self=False, disk_only=False)


def dataset_has_incomplete_replica(frame: Frame) -> bool:
    """Some block replica of the dataset, at any site, is incomplete."""
    assert frame.dataset is not None
    facts = frame.ctx.dataset_facts(frame.dataset)
    found = facts.get("has_incomplete")
    if found is None:
        found = facts["has_incomplete"] = _has_incomplete(frame.dataset)
    return bool(found)


def _has_incomplete(dataset: Dataset) -> bool:
    for replica in dataset.replicas.values():  # plain loops: faster than any() over a genexpr
        for br in replica.block_replicas.values():
            block = br.block
            if br.size != block.size or br.num_files != block.num_files:
                return True
    return False


def block_is_last_transfer_source(frame: Frame, replica: BlockReplica) -> bool:
    """Complete, no other complete copy on a ready disk site, and an incomplete copy exists."""
    return id(replica) in _last_transfer_sources(frame.ctx, replica.block.dataset)


def _last_transfer_sources(ctx: EvaluationContext, dataset: Dataset) -> frozenset[int]:
    """The ids of the dataset's block replicas that are last transfer sources (one pass over
    each block's replicas, cached for the pass, instead of one per block replica asked)."""
    facts = ctx.dataset_facts(dataset)
    found = facts.get("last_sources")
    if found is not None:
        return found  # type: ignore[return-value]
    sources: set[int] = set()
    for block in dataset.blocks.values():
        size, num_files = block.size, block.num_files
        has_incomplete = False
        ready_disk = 0  # complete copies on ready disk sites
        complete = []
        for other in block.replicas:
            if other.size != size or other.num_files != num_files:
                has_incomplete = True
                continue
            complete.append(other)
            site = other.site
            if site.storage_type is _DISK and site.status is _READY:
                ready_disk += 1
        if not has_incomplete or ready_disk > 1:
            continue
        for other in complete:
            site = other.site
            own = site.storage_type is _DISK and site.status is _READY
            if ready_disk - own == 0:
                sources.add(id(other))
    found = facts["last_sources"] = frozenset(sources)
    return found


def block_num_full_disk_copy(frame: Frame, replica: BlockReplica) -> int:
    """Complete replicas of the block, on any kind of site (as the original counted)."""
    return sum(1 for other in replica.block.replicas if other.is_complete())


def block_on_tape(frame: Frame, replica: BlockReplica) -> bool:
    """A complete replica of the block is on a tape (MSS) site."""
    return any(
        other.site.storage_type is _MSS and other.is_complete() for other in replica.block.replicas
    )
