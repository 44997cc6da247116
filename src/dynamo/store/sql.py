"""SqlInventoryStore: the InventoryStore on SQLite, PostgreSQL or MariaDB/MySQL.

The commit protocol: validate the ChangeSet against the inventory; in ONE transaction write
its net effect on the tables (:mod:`dynamo.store.plan`, :mod:`dynamo.store.writer`) and one
``inventory_log`` row; commit; only then apply it in memory. A crash before the database commit
leaves neither rows nor log entry; a crash after it leaves both, and the next start-up loads
them. So the database always holds exactly the committed ChangeSets, and the memory image is
the database at the ``seq`` it has applied.

Group commit (:meth:`SqlInventoryStore.write_group`): several ChangeSets share one transaction
(their net effect as one plan, and still one log row each), so the same holds per group: the
database has all of a group's rows and log rows, or none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import DynamoError, StoreError
from dynamo.model import Block, ChangeSet, File, Inventory, PartitionCompiler
from dynamo.store import schema
from dynamo.store.engine import make_engine
from dynamo.store.filecache import DEFAULT_FILE_CACHE_BLOCKS, FileCache
from dynamo.store.loader import load_into
from dynamo.store.migration import check_schema, migrate
from dynamo.store.ports import (
    GroupEntry,
    GroupOutcome,
    ProgressCallback,
    SideWrite,
    screen_group,
    write_one,
)
from dynamo.store.sqlops import driver_message
from dynamo.store.writer import write_plan

__all__ = ["LOG_PAGE", "SqlInventoryStore"]

LOG_PAGE = 100
"""Log entries fetched per query by read_log (each holds a whole ChangeSet)."""


class SqlInventoryStore:
    """The inventory in a relational database (see the module docstring for the protocol).

    Opening checks the schema revision: a database that is not at the head revision raises
    :class:`SchemaVersionError` (run :func:`dynamo.store.migrate`, ``dynamo db upgrade``).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        file_cache_blocks: int = DEFAULT_FILE_CACHE_BLOCKS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_schema(engine)
        self.engine = engine
        self.file_cache = FileCache(file_cache_blocks)
        self._clock = clock
        self._commit_lock = threading.RLock()
        self.fence: Callable[[Connection], None] | None = None
        """Run first in every write transaction; raises to refuse the write (the leader's
        epoch check when several servers share the database, see dynamo.store.leadership)."""

    @classmethod
    def open(
        cls,
        url: str | URL,
        *,
        upgrade: bool = False,
        file_cache_blocks: int = DEFAULT_FILE_CACHE_BLOCKS,
        **engine_options: Any,
    ) -> SqlInventoryStore:
        """Open the store at ``url`` (see :func:`make_engine`); ``upgrade`` migrates first."""
        engine = make_engine(url, **engine_options)
        try:
            if upgrade:
                migrate(engine)
            return cls(engine, file_cache_blocks=file_cache_blocks)
        except BaseException:
            engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ commit

    def commit(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int:
        """Validate, write rows + one log row in one transaction, then apply in memory.

        Raises InvalidChangeSetError (nothing written, nothing applied) or StoreError (the
        transaction failed and was rolled back; nothing applied). Returns the log seq.
        """
        with self._commit_lock:
            seq = self.write(changeset, inventory, also=also)
            try:
                inventory.apply(changeset, validated=True)
            except DynamoError as exc:  # pragma: no cover - validated by write()
                raise StoreError(
                    f"ChangeSet {seq} is committed but the inventory rejected it; reload"
                ) from exc
            return seq

    def write(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int:
        """Validate against ``inventory`` and write rows + one log row in one transaction.

        The inventory is only read. The caller applies the ChangeSet to it before the next
        write (the plan of a write depends on the state it was validated against); the server
        does so on its event loop, where reads run, so no read sees a half-applied ChangeSet.
        """
        return write_one(self, changeset, inventory, also)

    def write_group(
        self, entries: Sequence[GroupEntry], inventory: Inventory
    ) -> list[GroupOutcome]:
        """Write the valid ``entries`` in ONE transaction, one log row each, in order.

        The contract is :meth:`InventoryStore.write_group`'s. The tables get the net effect of
        the accepted ChangeSets as one plan; the fence runs once, first; each side write runs
        right after its entry's log row. A transaction holding no ChangeSet and no side write
        is not opened (nor fenced), as for an empty ``write``.
        """
        with self._commit_lock:
            rejections, plan = screen_group(entries, inventory)
            accepted = [e for e, r in zip(entries, rejections, strict=True) if r is None]
            num_ops = sum(len(e.changeset) for e in accepted)
            if not num_ops and all(e.also is None for e in accepted):
                last = self.last_seq() if accepted else 0
                return [last if r is None else r for r in rejections]
            try:
                with self._writer() as conn:
                    touched = write_plan(conn, plan)
                    seqs = self._write_log(conn, accepted)
            except SQLAlchemyError as exc:
                what = (
                    f"{num_ops} operations"
                    if len(entries) == 1
                    else f"a group of {len(accepted)} ChangeSets ({num_ops} operations)"
                )
                raise StoreError(
                    f"commit of {what} failed, nothing was written: {driver_message(exc)}"
                ) from exc
            self.file_cache.invalidate(touched, plan.delete_datasets)
            found = iter(seqs)
            return [next(found) if r is None else r for r in rejections]

    def _write_log(self, conn: Connection, entries: Sequence[GroupEntry]) -> list[int]:
        """One log row per non-empty ChangeSet, each followed by its side write; the seqs.

        Consecutive ChangeSets without a side write share one multi-row ``INSERT ...
        RETURNING seq`` (seqs in the rows' order): one round trip for most of a group.
        """
        seqs: list[int] = []
        run: list[ChangeSet] = []
        for entry in entries:
            if entry.changeset and entry.also is None:
                run.append(entry.changeset)
                continue
            seqs += self._log_rows(conn, run)
            run = []
            if entry.changeset:
                seqs += self._log_rows(conn, [entry.changeset])
            elif seqs:
                seqs.append(seqs[-1])
            else:
                found = conn.execute(select(func.max(schema.inventory_log.c.seq))).scalar()
                seqs.append(int(found or 0))
            if entry.also is not None:
                entry.also(conn, seqs[-1] if entry.changeset else None)
        return seqs + self._log_rows(conn, run)

    def _log_rows(self, conn: Connection, changesets: Sequence[ChangeSet]) -> list[int]:
        log = schema.inventory_log
        now = int(self._clock())
        rows = [
            {"committed_at": now, "num_ops": len(c), "changeset": c.to_msgpack()}
            for c in changesets
        ]
        if len(rows) > 1:
            result = conn.execute(
                insert(log).returning(log.c.seq, sort_by_parameter_order=True), rows
            )
            return [int(seq) for seq in result.scalars()]
        if not rows:
            return []
        key = conn.execute(insert(log).values(rows[0])).inserted_primary_key
        if key is None:  # pragma: no cover - every backend reports the new seq
            raise StoreError("the database did not report the new log seq")
        return [int(key[0])]

    @contextmanager
    def _writer(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.fence is not None:
                    self.fence(conn)
                yield conn

    # ------------------------------------------------------------------ load

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read transaction that sees one consistent state of every table."""
        with self.engine.connect() as conn:
            if conn.dialect.name != "sqlite":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin() as transaction:
                yield conn
                transaction.rollback()

    def load(
        self,
        partition_compiler: PartitionCompiler | None = None,
        progress: ProgressCallback | None = None,
    ) -> tuple[Inventory, int]:
        """Stream every table into a new inventory; returns it and the seq of the snapshot."""
        inventory = Inventory(partition_compiler=partition_compiler)
        try:
            with self._snapshot() as conn:
                seq = load_into(conn, inventory, progress)
        except SQLAlchemyError as exc:
            raise StoreError(f"loading the inventory failed: {driver_message(exc)}") from exc
        return inventory, seq

    # ------------------------------------------------------------------ log

    def last_seq(self) -> int:
        try:
            with self.engine.connect() as conn:
                found = conn.execute(select(func.max(schema.inventory_log.c.seq))).scalar()
        except SQLAlchemyError as exc:
            raise StoreError(f"reading the log failed: {driver_message(exc)}") from exc
        return int(found or 0)

    def read_log(
        self, after_seq: int = 0, limit: int | None = None
    ) -> Iterator[tuple[int, ChangeSet]]:
        """Committed ChangeSets after ``after_seq`` in order, fetched page by page."""
        log = schema.inventory_log
        remaining = limit
        while remaining is None or remaining > 0:
            page = LOG_PAGE if remaining is None else min(LOG_PAGE, remaining)
            query = (
                select(log.c.seq, log.c.changeset)
                .where(log.c.seq > after_seq)
                .order_by(log.c.seq)
                .limit(page)
            )
            try:
                with self.engine.connect() as conn:
                    rows = conn.execute(query).all()
            except SQLAlchemyError as exc:
                raise StoreError(f"reading the log failed: {driver_message(exc)}") from exc
            for seq, blob in rows:
                yield int(seq), ChangeSet.from_msgpack(bytes(blob))
            if len(rows) < page:
                return
            after_seq = int(rows[-1][0])
            if remaining is not None:
                remaining -= len(rows)

    # ------------------------------------------------------------------ files

    def files_of(self, block: Block) -> Sequence[File]:
        """The block's files ordered by LFN, through the bounded cache."""
        key = (block.dataset.name, block.name)
        cache = self.file_cache
        found = cache.get(key)
        if found is not None:
            return found
        generation = cache.generation
        files, blocks, datasets = schema.files, schema.blocks, schema.datasets
        query = (
            select(files.c.lfn, files.c.size, files.c.adler32)
            .select_from(files.join(blocks).join(datasets))
            .where(datasets.c.name == key[0], blocks.c.name == key[1])
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"reading the files of {block.full_name} failed") from exc
        # Sorted here, not by ORDER BY: the databases' collations disagree with code points.
        result = tuple(
            File(lfn=lfn, dataset=key[0], block=key[1], size=size, adler32=adler32)
            for lfn, size, adler32 in sorted(rows)
        )
        cache.put(key, result, generation)
        return result
