"""The inventory service: the server's one inventory image and its one write path.

Concurrency contract (the server runs one asyncio event loop):

- **Reads** run on the event loop thread (every route that reads the inventory is ``async``),
  so they never interleave with an in-memory apply.
- **Writes** are serialised by one lock. The database transaction of a write runs in a worker
  thread (it only *reads* the inventory, to validate and plan); the ChangeSet is then applied
  in memory back on the event loop thread, as one synchronous step. A read therefore sees the
  image either before or after a ChangeSet, never half of it.
- A write that fails (invalid ChangeSet, database error) changes neither the DB nor the image.

A large batch of operations is committed as bounded ChangeSets (:meth:`commit_chunked`), each
atomic on its own; callers that need all-or-nothing keep under the bound.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from dynamo.errors import DynamoError, StoreError
from dynamo.model import ChangeSet, Inventory, Operation
from dynamo.model.partitioning import PartitionCompiler
from dynamo.model.validation import validate
from dynamo.store import InventoryStore, ProgressCallback, SideWrite

__all__ = ["DEFAULT_CHUNK_OPS", "CommitResult", "InventoryService", "PartialCommitError"]

log = logging.getLogger(__name__)

DEFAULT_CHUNK_OPS = 50_000
"""Operations per ChangeSet when a large batch is split (bounded DB transactions and log rows)."""


@dataclass(frozen=True, slots=True)
class CommitResult:
    """What a write did: the log sequence numbers of its ChangeSets and the operation count."""

    seqs: tuple[int, ...]
    num_ops: int

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0


class InventoryService:
    """Holds the inventory loaded from a store and applies every change through it."""

    def __init__(
        self,
        store: InventoryStore,
        inventory: Inventory,
        seq: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._inventory = inventory
        self._seq = seq
        self._clock = clock
        self._write_lock = asyncio.Lock()
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
        case nothing changed.
        """
        async with self._write_lock:
            return await self._write_and_apply(changeset, also)

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
        plan: Callable[[Inventory], Awaitable[Sequence[Operation]]],
        *,
        chunk_ops: int = DEFAULT_CHUNK_OPS,
        also: SideWrite | None = None,
    ) -> CommitResult:
        """Compute operations from the current image and commit them, with no write between.

        ``plan`` runs on the event loop under the write lock (it may await I/O, e.g. reading
        files from the store); its operations are committed as in :meth:`commit_chunked`.
        ``also`` writes more in the transaction of a plan that fits one ChangeSet (ValueError
        for a larger one: there would be no single transaction to write it in).
        """
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


class PartialCommitError(StoreError):
    """A chunked write stopped part way; the message says what was committed."""

    code = "partial_commit"
