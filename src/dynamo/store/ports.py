"""The InventoryStore port and its in-memory implementation (for tests and dry runs).

Contract of every store (checked by ``tests/contract/store``):

- ``commit(changeset, inventory)`` validates the ChangeSet against the inventory, makes it
  durable together with one log entry, and only then applies it to the inventory; it returns
  the entry's ``seq``. A rejected ChangeSet (:class:`InvalidChangeSetError`) or a failed write
  (:class:`StoreError`) leaves both the store and the inventory untouched.
- ``load()`` returns a new inventory equal (``describe``) to replaying every committed
  ChangeSet in order on an empty one, and the ``seq`` of the last of them.
- ``files_of(block)`` returns the block's files ordered by LFN (code-point order).
- ``read_log(after_seq, limit)`` yields ``(seq, changeset)`` in increasing ``seq`` order.
- ``write_group(entries, inventory)`` writes several ChangeSets in ONE transaction with one
  log entry each, in order; each is validated against the state the accepted ones before it
  leave, and an invalid one is left out alone (its outcome is its InvalidChangeSetError). Any
  other failure raises and writes nothing of the group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dynamo.errors import InvalidChangeSetError, StoreConflictError
from dynamo.model import Block, ChangeSet, File, Inventory, PartitionCompiler
from dynamo.model.validation import SequenceValidator
from dynamo.store.plan import BlockKey, WritePlan, plan_changesets

__all__ = [
    "GroupEntry",
    "GroupOutcome",
    "InventoryStore",
    "MemoryInventoryStore",
    "ProgressCallback",
    "SideWrite",
    "screen_group",
    "write_one",
]

ProgressCallback = Callable[[str, int, int | None], None]
"""``progress(stage, done, total)``: rows of ``stage`` loaded so far, and the total if known."""

SideWrite = Callable[[Any, int | None], None]
"""``also(connection, seq)``: more writes inside a commit's transaction (history, queues).

``connection`` is the backend's (a SQLAlchemy Connection for the SQL store, None in memory);
``seq`` is the log seq being written, None when the ChangeSet is empty. If it raises, nothing
of the commit is kept (the SQL store raises StoreError for a database failure in it).
"""


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """One ChangeSet of a group commit, with its side write (see :data:`SideWrite`)."""

    changeset: ChangeSet
    also: SideWrite | None = None


GroupOutcome = int | InvalidChangeSetError
"""A group member's outcome: its log seq (for an empty ChangeSet, the last seq before it, and
its side write ran with seq None), or why it was left out."""


def screen_group(
    entries: Sequence[GroupEntry], inventory: Inventory
) -> tuple[list[InvalidChangeSetError | None], WritePlan]:
    """Validate ``entries`` in order, each after the accepted ones before it.

    Returns each entry's rejection (None if accepted) and the net effect of the accepted
    ChangeSets, one after another, on the tables (:func:`plan_changesets`).
    """
    validator = SequenceValidator(inventory)
    rejections: list[InvalidChangeSetError | None] = []
    accepted: list[ChangeSet] = []
    for entry in entries:
        try:
            validator.check(entry.changeset)
        except InvalidChangeSetError as exc:
            rejections.append(exc)
            continue
        rejections.append(None)
        accepted.append(entry.changeset)
    return rejections, plan_changesets(accepted, inventory)


def write_one(
    store: InventoryStore, changeset: ChangeSet, inventory: Inventory, also: SideWrite | None
) -> int:
    """``store.write`` as a group of one: raises the InvalidChangeSetError of a rejection."""
    outcome = store.write_group([GroupEntry(changeset, also)], inventory)[0]
    if isinstance(outcome, InvalidChangeSetError):
        raise outcome
    return outcome


class InventoryStore(Protocol):
    """Durable storage of the inventory: the commit protocol, the load, the log and the files."""

    def commit(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int:
        """Validate, persist with one log entry, then apply to ``inventory``; returns the seq."""
        ...

    def write(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int:
        """Validate against ``inventory`` and persist, without applying; returns the seq.

        ``also`` runs inside the same transaction (see :data:`SideWrite`). An empty ChangeSet
        writes no log entry: only ``also`` runs, and the last seq is returned. The caller
        applies the ChangeSet to ``inventory`` before its next write.
        """
        ...

    def write_group(
        self, entries: Sequence[GroupEntry], inventory: Inventory
    ) -> list[GroupOutcome]:
        """Write the valid ``entries`` in ONE transaction, one log entry each, in order.

        Each ChangeSet is validated against the state the accepted ones before it leave; an
        invalid one is left out (its outcome is its InvalidChangeSetError) and the others are
        written. Each side write runs right after its own log row. Any other failure (a
        database error, a conflict, a side write that raises) raises and writes nothing of
        the group. Nothing is applied: the caller applies the accepted ChangeSets in order.
        """
        ...

    def load(
        self,
        partition_compiler: PartitionCompiler | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[Inventory, int]:
        """A new inventory holding the committed state, and the seq it corresponds to."""
        ...

    def read_log(
        self, after_seq: int = 0, limit: int | None = None
    ) -> Iterator[tuple[int, ChangeSet]]:
        """Committed ChangeSets with ``seq > after_seq``, in order, at most ``limit``."""
        ...

    def last_seq(self) -> int:
        """The seq of the last committed ChangeSet (0 when none)."""
        ...

    def files_of(self, block: Block) -> Sequence[File]:
        """The files of ``block`` ordered by LFN (the model's FileCatalog port)."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


class MemoryInventoryStore:
    """An InventoryStore held in memory: the log is a list, files a dict by LFN.

    ``load`` replays the log, so it doubles as the reference the SQL store is tested against.
    """

    def __init__(self) -> None:
        self._log: list[tuple[int, bytes]] = []
        self._files: dict[str, File] = {}
        self._by_block: dict[BlockKey, set[str]] = {}

    def commit(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int:
        seq = self.write(changeset, inventory, also=also)
        inventory.apply(changeset, validated=True)
        return seq

    def write(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int:
        return write_one(self, changeset, inventory, also)

    def write_group(
        self, entries: Sequence[GroupEntry], inventory: Inventory
    ) -> list[GroupOutcome]:
        rejections, plan = screen_group(entries, inventory)
        self._check_files(plan)
        outcomes: list[GroupOutcome] = []
        blobs: list[bytes] = []
        last = self.last_seq()
        for entry, rejection in zip(entries, rejections, strict=True):
            if rejection is not None:
                outcomes.append(rejection)
                continue
            if entry.changeset:
                last += 1
                blobs.append(entry.changeset.to_msgpack())
            if entry.also is not None:  # before anything is kept: if it raises, nothing is
                entry.also(None, last if entry.changeset else None)
            outcomes.append(last)
        self._write_files(plan)
        first = last - len(blobs) + 1
        self._log.extend((first + n, blob) for n, blob in enumerate(blobs))
        return outcomes

    def _is_deleted(self, file: File, plan: WritePlan) -> bool:
        return (
            file.lfn in plan.delete_files
            or file.dataset in plan.delete_datasets
            or (file.dataset, file.block) in plan.delete_blocks
        )

    def _check_files(self, plan: WritePlan) -> None:
        for lfn, op in plan.files.items():
            old = self._files.get(lfn)
            if old is None or (old.dataset, old.block) == (op.dataset, op.block):
                continue
            if not self._is_deleted(old, plan):
                raise StoreConflictError(
                    f"file {lfn!r} is registered to another block; it cannot be registered "
                    f"to {op.dataset}#{op.block} (delete it first)"
                )

    def _write_files(self, plan: WritePlan) -> None:
        doomed = plan.delete_files & self._files.keys()
        if plan.delete_blocks or plan.delete_datasets:
            for key, lfns in self._by_block.items():
                if key in plan.delete_blocks or key[0] in plan.delete_datasets:
                    doomed.update(lfns)
        for lfn in doomed:
            file = self._files.pop(lfn)
            self._by_block[(file.dataset, file.block)].discard(lfn)
        for lfn, op in plan.files.items():
            self._files[lfn] = File(
                lfn=lfn, dataset=op.dataset, block=op.block, size=op.size, adler32=op.adler32
            )
            self._by_block.setdefault((op.dataset, op.block), set()).add(lfn)

    def load(
        self,
        partition_compiler: PartitionCompiler | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[Inventory, int]:
        inventory = Inventory(partition_compiler=partition_compiler)
        total = len(self._log)
        for done, (_, blob) in enumerate(self._log, start=1):
            inventory.apply(ChangeSet.from_msgpack(blob))
            if progress is not None:
                progress("log", done, total)
        return inventory, self.last_seq()

    def read_log(
        self, after_seq: int = 0, limit: int | None = None
    ) -> Iterator[tuple[int, ChangeSet]]:
        entries = [(seq, blob) for seq, blob in self._log if seq > after_seq]
        for seq, blob in entries[:limit]:
            yield seq, ChangeSet.from_msgpack(blob)

    def last_seq(self) -> int:
        return self._log[-1][0] if self._log else 0

    def files_of(self, block: Block) -> Sequence[File]:
        lfns = self._by_block.get((block.dataset.name, block.name), set())
        return tuple(self._files[lfn] for lfn in sorted(lfns))

    def close(self) -> None:
        pass
