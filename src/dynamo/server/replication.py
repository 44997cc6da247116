"""A follower's image kept equal to the database: tail ``inventory_log`` and apply in order.

The log is the truth and it is read by ``seq``: every entry after the image's seq, in order,
so nothing is skipped or applied twice, however late the follower wakes up. Entries are read
in a worker thread and applied on the event loop thread (where reads run), one whole
ChangeSet at a time. Before an entry is applied, the file lists it may change are dropped from
the store's file cache.

An entry the image rejects means the image has diverged from the database (it should never
happen): the follower then reloads the whole inventory.

:class:`LogWakeup` is how long a follower sleeps between two reads: the poll interval, or less
when PostgreSQL notifies a commit of the leader (LISTEN/NOTIFY, see
:mod:`dynamo.store.lognotify`). Polling stays as the fallback, and is the only way on MariaDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import Engine

from dynamo.errors import InvalidChangeSetError
from dynamo.model import ChangeSet, Inventory, PartitionCompiler
from dynamo.model.validation import validate
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.lognotify import LogListener, supports_notify
from dynamo.store.plan import plan_changeset

__all__ = ["LOG_BATCH", "LogFollower", "LogWakeup"]

log = logging.getLogger(__name__)

LOG_BATCH = 1_000
"""Log entries read per round trip to the database."""


class LogFollower:
    """Applies the log entries after ``service.seq`` to ``service``'s image."""

    def __init__(
        self,
        service: InventoryService,
        store: SqlInventoryStore,
        *,
        partition_compiler: PartitionCompiler | None = None,
        on_applied: Callable[[int], None] | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.partition_compiler = partition_compiler
        self.on_applied = on_applied
        """Called with each seq once applied (the bench measures the lag with it)."""

    async def catch_up(self) -> int:
        """Apply every entry committed so far; returns how many were applied."""
        applied = 0
        while True:
            after = self.service.seq
            entries = await asyncio.to_thread(self._read, after)
            for seq, changeset in entries:
                if self._apply(seq, changeset):
                    applied += 1
            if len(entries) < LOG_BATCH:
                return applied

    def _read(self, after: int) -> list[tuple[int, ChangeSet]]:
        return list(self.store.read_log(after, limit=LOG_BATCH))

    def _apply(self, seq: int, changeset: ChangeSet) -> bool:
        inventory = self.service.inventory
        if seq <= self.service.seq:
            return False
        try:
            validate(inventory, changeset)
            self._forget_files(changeset, inventory)
            applied = self.service.apply_logged(seq, changeset, validated=True)
        except InvalidChangeSetError as exc:
            log.error("log entry %d does not apply to the image (%s): reloading", seq, exc)
            self._reload()
            return True
        if applied and self.on_applied is not None:
            self.on_applied(seq)
        return applied

    def _forget_files(self, changeset: ChangeSet, inventory: Inventory) -> None:
        plan = plan_changeset(changeset, inventory)
        cache = self.store.file_cache
        if plan.delete_files:  # their blocks are not in the plan: drop every list
            cache.clear()
        else:
            cache.invalidate(plan.touched_file_blocks(), plan.delete_datasets)

    def _reload(self) -> None:
        inventory, seq = self.store.load(partition_compiler=self.partition_compiler)
        self.store.file_cache.clear()
        self.service.reset(inventory, seq)


class LogWakeup:
    """Waits for the next read of the log: a poll interval, cut short by a notification."""

    def __init__(self, engine: Engine, *, listen: bool = True) -> None:
        self._engine = engine
        self._listen = listen and supports_notify(engine)
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: LogListener | None = None

    @property
    def is_listening(self) -> bool:
        """Whether notifications are being received right now."""
        return self._listener is not None and self._listener.connected.is_set()

    def start(self) -> None:
        """Listen, if asked and the database can notify (call on the event loop)."""
        self._loop = asyncio.get_running_loop()
        if self._listen and self._listener is None:
            self._listener = LogListener(self._engine, self._notified).start()

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await asyncio.to_thread(listener.stop)

    async def wait(self, seconds: float) -> None:
        """Return after ``seconds``, or as soon as a commit was notified since the last call."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()

    def _notified(self) -> None:  # in the listener's thread
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._event.set)
