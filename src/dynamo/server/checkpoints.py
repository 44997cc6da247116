"""A server's use of checkpoints (:mod:`dynamo.store.checkpoint`): start from the newest usable
one, and write one every ``every_seconds``.

Start-up (:func:`load_service`): with a checkpoint directory configured, the newest checkpoint
that is usable (format, schema revision, intact, of this database's log) and whose backlog
(log entries committed after it) is at most ``max_backlog`` is loaded; the server then applies
the log after it before it serves (:meth:`dynamo.server.leader.ServerNode.start`). Otherwise,
or if every candidate is refused, the server loads the tables as always. A checkpoint saves
the database's share of a load (streaming the tables from the server), not the building of the
image in Python; the backlog bound keeps the log replay shorter than the load it replaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from dynamo.errors import DynamoError
from dynamo.model import PartitionCompiler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.checkpoint import (
    CheckpointError,
    find_checkpoints,
    load_checkpoint,
    write_checkpoint,
)

__all__ = ["CheckpointSettings", "Checkpointer", "load_service"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointSettings:
    directory: Path
    every_seconds: float = 3600.0
    """0: never write (only read what another server or ``dynamo db checkpoint`` wrote)."""
    max_backlog: int = 50_000
    keep: int = 2


def load_service(
    store: SqlInventoryStore,
    *,
    partition_compiler: PartitionCompiler | None,
    checkpoints: CheckpointSettings | None,
) -> InventoryService:
    """The service on an image from the newest usable checkpoint, else from the tables.

    The image from a checkpoint is behind the log: the caller applies the log after it.
    """
    if checkpoints is not None:
        head = store.last_seq()
        for path in find_checkpoints(checkpoints.directory)[:3]:
            started = time.perf_counter()
            try:
                inventory, seq = load_checkpoint(
                    path, store.engine, partition_compiler=partition_compiler
                )
            except CheckpointError as exc:
                log.warning("not starting from checkpoint %s: %s", path, exc)
                continue
            if head - seq > checkpoints.max_backlog:
                log.info("checkpoint %s is %d entries behind: loading the tables", path, head - seq)
                break
            log.info(
                "loaded checkpoint %s (seq %d, %d entries behind the log) in %.1f s",
                path,
                seq,
                head - seq,
                time.perf_counter() - started,
            )
            return InventoryService(store, inventory, seq)
    return InventoryService.load(store, partition_compiler=partition_compiler)


class Checkpointer:
    """Writes a checkpoint every ``every_seconds`` in a worker thread, while started."""

    def __init__(self, store: SqlInventoryStore, settings: CheckpointSettings) -> None:
        self.store = store
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.settings.every_seconds > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.every_seconds)
            try:
                info = await asyncio.to_thread(
                    write_checkpoint,
                    self.store.engine,
                    self.settings.directory,
                    keep=self.settings.keep,
                )
            except (DynamoError, OSError) as exc:
                log.warning("writing a checkpoint failed: %s", exc)
                continue
            log.info("wrote checkpoint %s (seq %d) in %.1f s", info.path, info.seq, info.seconds)
