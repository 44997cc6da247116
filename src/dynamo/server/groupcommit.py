"""What the group commit of :class:`dynamo.server.service.InventoryService` needs to decide:
which queued writes may share a transaction, and which failures a member may be retried from.

A write queued with fixed operations (``commit``) can always join a group: the store validates
it against the state the members before it leave. A write queued as a *plan* (``commit_plan``
with ``grouped=True``, the API's injections) computes its operations from the committed image,
which does not yet hold the members before it; it may join only if none of them wrote an object
its plan could have read. The plan's operations name those objects (:func:`footprint`): a plan
reads only the objects its operations name (the datasets it writes, the sites and groups its
replicas use). An operation whose effect reaches further (deleting a site, a group or a file,
partitions and quotas) makes its member a *barrier*: it touches everything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError

from dynamo.errors import StoreConflictError, StoreError
from dynamo.model import (
    ChangeSet,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    Inventory,
    Operation,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.store import SideWrite

__all__ = [
    "DEFAULT_CHUNK_OPS",
    "DEFAULT_GROUP_CHANGESETS",
    "DEFAULT_GROUP_OPS",
    "EMPTY",
    "CommitResult",
    "Footprint",
    "Plan",
    "QueuedWrite",
    "footprint",
    "isolatable",
    "select_group",
]

DEFAULT_CHUNK_OPS = 50_000
"""Operations per ChangeSet when a large batch is split (bounded DB transactions and log rows)."""

DEFAULT_GROUP_CHANGESETS = 256
"""At most this many ChangeSets share one transaction."""
DEFAULT_GROUP_OPS = 20_000
"""A ChangeSet joins a group only while the group stays within this many operations (a single
larger ChangeSet still commits, alone)."""

Key = tuple[str, str]
EMPTY = ChangeSet()


@dataclass(slots=True)
class Footprint:
    """The objects a member writes and reads, by (kind, name); ``barrier``: everything."""

    writes: set[Key] = field(default_factory=set)
    reads: set[Key] = field(default_factory=set)
    barrier: bool = False

    def stale_after(self, earlier: Footprint) -> bool:
        """Whether a plan with this footprint may have read something ``earlier`` wrote."""
        if self.barrier or earlier.barrier:
            return True
        return not earlier.writes.isdisjoint(self.writes) or not earlier.writes.isdisjoint(
            self.reads
        )

    def add(self, other: Footprint) -> None:
        self.writes |= other.writes
        self.reads |= other.reads
        self.barrier = self.barrier or other.barrier


def footprint(ops: Iterable[Operation]) -> Footprint:
    """The objects ``ops`` write (their dataset, site or group) and use (replicas' site, group)."""
    found = Footprint()
    for op in ops:
        match op:
            case UpsertGroup(name=name):
                found.writes.add(("group", name))
            case UpsertSite(name=name):
                found.writes.add(("site", name))
            case UpsertDataset(name=name) | DeleteDataset(name=name):
                found.writes.add(("dataset", name))
            case UpsertBlock() | DeleteBlock() | UpsertFile() | DeleteBlockReplica():
                found.writes.add(("dataset", op.dataset))
            case UpsertDatasetReplica() | UpsertBlockReplica():
                found.writes.add(("dataset", op.dataset))
                found.reads.add(("site", op.site))
                if op.group is not None:
                    found.reads.add(("group", op.group))
            case DeleteDatasetReplica():
                found.writes.add(("dataset", op.dataset))
                found.reads.add(("site", op.site))
            case _:  # DeleteSite, DeleteGroup, DeleteFile, UpsertPartition, SetQuota
                found.barrier = True
    return found


def isolatable(exc: BaseException) -> bool:
    """Whether a failed group's members are retried one at a time (True) or all fail (False).

    A failure one member may have caused alone is isolatable: a file registered to another
    block (StoreConflictError), a constraint or value the database refused, a side write that
    raised its own error. A failure of the database itself (unreachable, dropped connection,
    timeout) or the epoch fence (NotLeaderError) would fail every retry too: all fail with it.
    """
    if isinstance(exc, StoreConflictError):
        return True
    if isinstance(exc, StoreError):
        return isinstance(exc.__cause__, IntegrityError | DataError)
    return isinstance(exc, Exception)


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a write did: the log sequence numbers of its ChangeSets and the operation count."""

    seqs: tuple[int, ...]
    num_ops: int

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0


Plan = Callable[[Inventory], Awaitable[Sequence[Operation]]]
"""Computes the operations of a write from the current image (see :meth:`commit_plan`)."""


@dataclass(slots=True, eq=False)
class QueuedWrite:
    """A write waiting for the group committer: fixed operations, or a plan to run."""

    future: asyncio.Future[CommitResult]
    changeset: ChangeSet = EMPTY
    also: SideWrite | None = None
    plan: Plan | None = None
    chunk_ops: int = DEFAULT_CHUNK_OPS
    error: BaseException | None = None

    def settle(self, result: CommitResult | BaseException) -> None:
        """Answer the caller (unless it stopped waiting)."""
        if self.future.done():
            return
        if isinstance(result, CommitResult):
            self.future.set_result(result)
        elif isinstance(result, asyncio.CancelledError):
            self.future.cancel()
        else:
            self.future.set_exception(result)


def select_group(
    batch: Sequence[QueuedWrite], group_ops: int
) -> tuple[list[QueuedWrite], list[QueuedWrite]]:
    """The members of this round's group, and the writes left for the next round.

    The group is the longest prefix of the batch that fits the bounds and holds no stale
    plan; a plan with more operations than one ChangeSet holds commits alone (chunked).
    """
    group: list[QueuedWrite] = []
    seen = Footprint()
    ops = 0
    for index, item in enumerate(batch):
        if item.error is not None:
            item.settle(item.error)
            continue
        if item.plan is not None and not item.changeset:
            item.settle(CommitResult((), 0))
            continue
        touched = footprint(item.changeset.ops)
        size = len(item.changeset)
        too_big = item.plan is not None and size > item.chunk_ops
        if group and (
            too_big
            or ops + size > group_ops
            or (item.plan is not None and touched.stale_after(seen))
        ):
            return group, list(batch[index:])
        group.append(item)
        if too_big:
            return group, list(batch[index + 1 :])
        seen.add(touched)
        ops += size
    return group, []
