"""The file-operations manager as a scheduled application (name ``fileops``).

One manager cycle (:func:`dynamo.fileops.manager.run_cycle`) per run: Detox's deletions taken
in, results collected from the backends, sources chosen, batches submitted to the standalone
workers (``dynamo fileops worker``) or FTS3. The cycle writes only the file-operation tables,
in short transactions of its own, so the application returns an empty ChangeSet (it is a
write application all the same: only write runs act); the updater folds the finished
operations into the inventory. A read-only run does nothing and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from dynamo.fileops.backends import opened_backends
from dynamo.fileops.config import FileOpsConfig
from dynamo.fileops.manager import run_cycle
from dynamo.server.applications import AppContext, AppResult

__all__ = ["FileOpsManagerApp"]


@dataclass(frozen=True, slots=True)
class FileOpsManagerApp:
    """The scheduled file-operations manager (see the module docstring)."""

    engine_factory: Callable[[], Engine]  # called in the child
    config: FileOpsConfig = field(default_factory=FileOpsConfig)
    name: str = "fileops"
    writes: bool = True  # it changes the queue (its ChangeSet is empty)
    description: str = "Chooses sources and submits transfers and deletions in batches."

    def run(self, ctx: AppContext) -> AppResult:
        if not ctx.writes:
            ctx.log.info("read-only run: the manager changes the queue, so it does nothing")
            return AppResult(summary={"skipped": "read-only"})
        engine = self.engine_factory()
        try:
            with opened_backends(engine, self.config.fts3) as backends:
                summary = run_cycle(
                    engine,
                    ctx.inventory,
                    self.config.endpoints,
                    backends,
                    ctx.now,
                    self.config.manager,
                )
        finally:
            engine.dispose()
        ctx.log.info("file operations cycle: %s", summary.as_dict())
        return AppResult(summary=summary.as_dict())
