"""The inventory service: the server's one inventory image and its one write path.

Concurrency contract (the server runs one asyncio event loop):

- **Reads** run on the event loop thread (every route that reads the inventory is ``async``),
  so they never interleave with an in-memory apply.
- **Writes** are serialised by one lock. The database transaction of a write runs in a worker
  thread (it only *reads* the inventory, to validate and plan); the ChangeSets are then applied
  in memory back on the event loop thread, as one synchronous step. A read therefore sees the
  image either before or after a ChangeSet, never half of it.
- A write that fails (invalid ChangeSet, database error) changes neither the DB nor the image.

**Group commit.** :meth:`commit` and ``commit_plan(..., grouped=True)`` queue their write; one
committer task takes the writes waiting (in arrival order, bounded by
``group_changesets``/``group_ops``) and writes them in ONE database transaction with one log
row each (:meth:`InventoryStore.write_group`; the epoch fence is checked once), then applies
them to the image in order and answers each caller with its own seq. Each ChangeSet is
validated against the state the ones before it leave; an invalid one fails its own caller only.
A grouped plan runs against the committed image, so it joins a group only if no member before
it wrote what its operations touch (:mod:`dynamo.server.groupcommit`); otherwise the group
ends there and it is planned again for the next one. If the group's transaction fails, nothing
of it is written; a failure one member may have caused (a conflict, a refused row, its side
write's error) is retried one member at a time so only that member fails, while a failure of
the database itself or of the fence fails every member. A single writer sees no difference.

A large batch of operations is committed as bounded ChangeSets (:meth:`commit_chunked`), each
atomic on its own; callers that need all-or-nothing keep under the bound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence

from dynamo.errors import DynamoError, InvalidChangeSetError, StoreError
from dynamo.model import ChangeSet, Inventory, Operation
from dynamo.model.partitioning import PartitionCompiler
from dynamo.model.validation import validate
from dynamo.server.groupcommit import (
    DEFAULT_CHUNK_OPS,
    DEFAULT_GROUP_CHANGESETS,
    DEFAULT_GROUP_OPS,
    EMPTY,
    CommitResult,
    Plan,
    QueuedWrite,
    isolatable,
    select_group,
)
from dynamo.store import InventoryStore, ProgressCallback, SideWrite
from dynamo.store.ports import GroupEntry, GroupOutcome

__all__ = ["DEFAULT_CHUNK_OPS", "CommitResult", "InventoryService", "PartialCommitError"]

log = logging.getLogger(__name__)


class InventoryService:
    """Holds the inventory loaded from a store and applies every change through it."""

    def __init__(
        self,
        store: InventoryStore,
        inventory: Inventory,
        seq: int,
        *,
        clock: Callable[[], float] = time.time,
        group_changesets: int = DEFAULT_GROUP_CHANGESETS,
        group_ops: int = DEFAULT_GROUP_OPS,
    ) -> None:
        self.store = store
        self._inventory = inventory
        self._seq = seq
        self._clock = clock
        self._write_lock = asyncio.Lock()
        self._queue: deque[QueuedWrite] = deque()
        self._committer: asyncio.Task[None] | None = None
        self.group_changesets = group_changesets
        self.group_ops = group_ops
        self.loaded_at = clock()

    @classmethod
    def load(
        cls,
        store: InventoryStore,
        *,
        partition_compiler: PartitionCompiler | None = None,
        progress: ProgressCallback | None = None,
        clock: Callable[[], float] = time.time,
    ) -> InventoryService:
        """Load the whole inventory from ``store`` and log what was loaded and how long it took."""
        started = time.perf_counter()
        inventory, seq = store.load(partition_compiler=partition_compiler, progress=progress)
        seconds = time.perf_counter() - started
        counts = ", ".join(f"{n:,} {kind}" for kind, n in inventory.counts().items())
        log.info("loaded the inventory at log seq %d in %.1f s: %s", seq, seconds, counts)
        # The image lives as long as the server: keep the cyclic collector from walking it
        # (a full collection over millions of objects would stall the event loop).
        gc.collect()
        gc.freeze()
        return cls(store, inventory, seq, clock=clock)

    @property
    def inventory(self) -> Inventory:
        """The live image. Read it on the event loop thread only, and never mutate it."""
        return self._inventory

    @property
    def seq(self) -> int:
        """The log sequence number of the last ChangeSet applied to the image."""
        return self._seq

    def apply_logged(self, seq: int, changeset: ChangeSet, *, validated: bool = False) -> bool:
        """Apply a ChangeSet another server committed as log entry ``seq`` (a follower tailing
        the log); False, and nothing done, if the image already holds it.

        Call on the event loop thread, in log order. Raises InvalidChangeSetError (nothing
        applied) if the image disagrees with the log: it must then be reloaded (:meth:`reset`).
        ``validated`` as in :meth:`Inventory.apply`.
        """
        if seq <= self._seq:
            return False
        self._inventory.apply(changeset, validated=validated)
        self._seq = seq
        return True

    def reset(self, inventory: Inventory, seq: int) -> None:
        """Replace the image by one freshly loaded at log entry ``seq`` (on the loop thread)."""
        self._inventory = inventory
        self._seq = seq
        self.loaded_at = self._clock()

    async def commit(self, changeset: ChangeSet, *, also: SideWrite | None = None) -> int:
        """Persist ``changeset`` and apply it to the image; returns its log seq.

        ``also`` writes more in the same transaction (history, queues; see
        :data:`dynamo.store.SideWrite`). Raises InvalidChangeSetError or StoreError, in which
        case nothing of it changed. Concurrent calls share transactions (group commit, see the
        module docstring); an empty ChangeSet returns the last seq before it.
        """
        result = await self._enqueue(changeset=changeset, also=also)
        return result.seqs[0]

    async def commit_chunked(
        self, ops: Sequence[Operation], *, chunk_ops: int = DEFAULT_CHUNK_OPS
    ) -> CommitResult:
        """Commit ``ops`` as ChangeSets of at most ``chunk_ops`` operations, in order.

        The whole batch is validated first (InvalidChangeSetError: nothing is written), and no
        other write interleaves. Only a database failure can then stop the batch part way: the
        PartialCommitError raised says which operations were committed.
        """
        async with self._write_lock:
            return await self._commit_chunked(ops, chunk_ops)

    async def commit_plan(
        self,
        plan: Plan,
        *,
        chunk_ops: int = DEFAULT_CHUNK_OPS,
        also: SideWrite | None = None,
        grouped: bool = False,
    ) -> CommitResult:
        """Compute operations from the current image and commit them, with no write between.

        ``plan`` runs on the event loop under the write lock (it may await I/O, e.g. reading
        files from the store); its operations are committed as in :meth:`commit_chunked`.
        ``also`` writes more in the transaction of a plan that fits one ChangeSet (ValueError
        for a larger one: there would be no single transaction to write it in).

        ``grouped``: the plan reads only the objects its operations name (their datasets, and
        the sites and groups of their replicas) and may run again; it is then planned and
        committed with other queued writes (group commit). Not with ``also``.
        """
        if grouped:
            if also is not None:
                raise ValueError("a grouped plan cannot have a side write")
            return await self._enqueue(plan=plan, chunk_ops=chunk_ops)
        async with self._write_lock:
            ops = await plan(self._inventory)
            if also is None:
                return await self._commit_chunked(ops, chunk_ops)
            if len(ops) > chunk_ops:
                raise ValueError(f"{len(ops)} operations with a side write exceed one ChangeSet")
            seq = await self._write_and_apply(ChangeSet(tuple(ops)), also)
            return CommitResult((seq,) if ops else (), len(ops))

    async def _commit_chunked(self, ops: Sequence[Operation], chunk_ops: int) -> CommitResult:
        if not ops:
            return CommitResult((), 0)
        if len(ops) > chunk_ops:  # one ChangeSet is validated by the store's write
            await asyncio.to_thread(validate, self._inventory, ChangeSet(tuple(ops)))
        seqs: list[int] = []
        for start in range(0, len(ops), chunk_ops):
            chunk = ChangeSet(tuple(ops[start : start + chunk_ops]))
            try:
                seqs.append(await self._write_and_apply(chunk))
            except DynamoError as exc:
                if not seqs:
                    raise
                raise PartialCommitError(
                    f"operations 0-{start - 1} of {len(ops)} were committed "
                    f"(log seqs {seqs[0]}-{seqs[-1]}); the rest failed: {exc}"
                ) from exc
        return CommitResult(tuple(seqs), len(ops))

    async def _write_and_apply(self, changeset: ChangeSet, also: SideWrite | None = None) -> int:
        seq = await asyncio.to_thread(self.store.write, changeset, self._inventory, also=also)
        if not changeset:
            return seq
        # On the loop thread, so reads see all or nothing; write() validated it against this
        # very state under the write lock.
        self._inventory.apply(changeset, validated=True)
        self._seq = seq
        log.info("committed ChangeSet %d (%d operations)", seq, len(changeset))
        return seq

    # ------------------------------------------------------------------ group commit

    def _enqueue(
        self,
        *,
        changeset: ChangeSet = EMPTY,
        also: SideWrite | None = None,
        plan: Plan | None = None,
        chunk_ops: int = DEFAULT_CHUNK_OPS,
    ) -> asyncio.Future[CommitResult]:
        loop = asyncio.get_running_loop()
        item = QueuedWrite(loop.create_future(), changeset, also, plan, chunk_ops)
        self._queue.append(item)
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_queued())
        return item.future

    async def _commit_queued(self) -> None:
        """The committer: one group after another while writes wait."""
        try:
            while self._queue:
                async with self._write_lock:
                    await self._commit_round()
        except BaseException as exc:
            while self._queue:
                self._queue.popleft().settle(exc)
            if not isinstance(exc, Exception):
                raise
            log.exception("the group committer failed; the writes it held failed with it")

    async def _commit_round(self) -> None:
        batch: list[QueuedWrite] = []
        while self._queue and len(batch) < self.group_changesets:
            item = self._queue.popleft()
            if not item.future.done():  # a caller that stopped waiting before it was taken
                batch.append(item)
        try:
            await self._run_plans(batch)
            group, rest = select_group(batch, self.group_ops)
        except BaseException as exc:
            for item in batch:
                item.settle(exc)
            raise
        self._queue.extendleft(reversed(rest))
        try:
            first = group[0] if group else None
            if (
                first is not None
                and first.plan is not None
                and len(first.changeset) > first.chunk_ops
            ):
                first.settle(await self._commit_chunked(first.changeset.ops, first.chunk_ops))
            elif group:
                await self._write_group(group)
        except BaseException as exc:
            for item in group:
                item.settle(exc)
            if not isinstance(exc, Exception):
                raise

    async def _run_plans(self, batch: Sequence[QueuedWrite]) -> None:
        """Run the batch's plans, concurrently, on the committed image."""
        planned = [item for item in batch if item.plan is not None]
        found = await asyncio.gather(
            *(item.plan(self._inventory) for item in planned if item.plan is not None),
            return_exceptions=True,
        )
        for item, ops in zip(planned, found, strict=True):
            if isinstance(ops, BaseException):
                item.error = ops
            else:
                item.changeset = ChangeSet(tuple(ops))

    async def _write_group(self, group: Sequence[QueuedWrite]) -> None:
        entries = [GroupEntry(item.changeset, item.also) for item in group]
        try:
            outcomes = await asyncio.to_thread(self.store.write_group, entries, self._inventory)
        except Exception as exc:
            if len(group) == 1 or not isolatable(exc):
                for item in group:
                    item.settle(exc)
                return
            log.warning(
                "a group commit of %d ChangeSets failed (%s); committing them one at a time",
                len(group),
                exc,
            )
            for item in group:
                await self._write_group([item])
            return
        self._apply_group(group, outcomes)

    def _apply_group(self, group: Sequence[QueuedWrite], outcomes: Sequence[GroupOutcome]) -> None:
        """Apply the committed members in order (one synchronous step) and answer each."""
        seqs: list[int] = []
        ops = 0
        for item, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, InvalidChangeSetError):
                item.settle(outcome)
                continue
            if item.changeset:
                try:
                    self._inventory.apply(item.changeset, validated=True)
                except DynamoError as exc:  # pragma: no cover - validated by write_group()
                    item.settle(
                        StoreError(f"ChangeSet {outcome} is committed but the image rejected it")
                    )
                    log.error(
                        "ChangeSet %d is committed but the image rejected it: %s", outcome, exc
                    )
                    continue
                self._seq = outcome
                seqs.append(outcome)
                ops += len(item.changeset)
            item.settle(CommitResult((outcome,), len(item.changeset)))
        if len(seqs) == 1:
            log.info("committed ChangeSet %d (%d operations)", seqs[0], ops)
        elif seqs:
            log.info(
                "committed ChangeSets %d-%d (%d operations) in one transaction",
                seqs[0],
                seqs[-1],
                ops,
            )


class PartialCommitError(StoreError):
    """A chunked write stopped part way; the message says what was committed."""

    code = "partial_commit"
