"""Support of the scheduler tests: applications that crash in every way, gates, snapshot
mutation; a scheduler factory and bounded waits.

Gates make concurrency observable without timing: an app touches ``started-RUN_ID`` in the
``gate_dir`` argument when it starts and waits (bounded) until ``release`` exists there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynamo.model import ChangeSet, UpsertBlock, UpsertDataset, UpsertSite
from dynamo.server.applications import AppContext, ApplicationRegistry, AppResult
from dynamo.server.builtin_apps import builtin_registry
from dynamo.server.runner import ForkRunner
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.server.scheduler import Scheduler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.appruns import AppRun, SqlRunStore

GATE_LIMIT_SECONDS = 60.0
WAIT = 60.0


def _gate(ctx: AppContext) -> None:
    gate = Path(str(ctx.arg("gate_dir")))
    (gate / f"started-{ctx.run_id}").touch()
    deadline = time.monotonic() + GATE_LIMIT_SECONDS
    while not (gate / "release").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released the gate")
        time.sleep(0.01)


@dataclass(frozen=True, slots=True)
class GatedApp:
    name: str
    writes: bool
    description: str = "waits for the test's release file; a write one adds a site"

    def run(self, ctx: AppContext) -> AppResult:
        _gate(ctx)
        if not self.writes:
            return AppResult(summary={"waited": True})
        site = str(ctx.arg("site", f"T3_TEST_{ctx.run_id}"))
        return AppResult(changeset=ChangeSet.of([UpsertSite(name=site)]))


@dataclass(frozen=True, slots=True)
class CrashApp:
    """Produces a ChangeSet, then dies in the way ``how`` says before it can send it."""

    name: str = "crash"
    writes: bool = True
    description: str = "crashes: how = raise | exit3 | sigkill | garbage"

    def run(self, ctx: AppContext) -> AppResult:
        changeset = ChangeSet.of([UpsertSite(name="T3_SHOULD_NOT_EXIST")])
        how = ctx.arg("how")
        if how == "raise":
            raise RuntimeError("the application failed on purpose")
        if how == "exit3":
            os._exit(3)
        if how == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if how == "garbage":
            # a normal return with a ChangeSet that the server must reject whole
            return AppResult(
                changeset=changeset
                + ChangeSet.of([UpsertBlock(dataset="/No/Such/DATASET", name="b1", size=1)])
            )
        return AppResult(changeset=changeset)


@dataclass(frozen=True, slots=True)
class MutateApp:
    """Wrecks its snapshot (drops every dataset, renames sites) and reports what it saw."""

    name: str = "mutate"
    writes: bool = False
    description: str = "mutates the snapshot in the child"

    def run(self, ctx: AppContext) -> AppResult:
        before = len(ctx.inventory.datasets)
        ctx.inventory.datasets.clear()
        for site in ctx.inventory.sites.values():
            site.name = "WRECKED"
        return AppResult(
            summary={"datasets_before": before, "datasets_after": len(ctx.inventory.datasets)}
        )


@dataclass(frozen=True, slots=True)
class RecordsApp:
    name: str = "records"
    writes: bool = True
    description: str = "returns records and a ChangeSet"

    def run(self, ctx: AppContext) -> AppResult:
        return AppResult(
            changeset=ChangeSet.of(
                [UpsertDataset(name="/Records/Run-v1/AOD", last_update=ctx.now)]
            ),
            records=[{"kind": "cycle", "run": ctx.run_id, "draw": ctx.random.randint(0, 10**6)}],
        )


def make_registry() -> ApplicationRegistry:
    registry = builtin_registry()
    for app in (
        GatedApp("gate-read", writes=False),
        GatedApp("gate-write", writes=True),
        CrashApp(),
        MutateApp(),
        RecordsApp(),
    ):
        registry.register(app)
    return registry


def make_scheduler(
    service: InventoryService, store: SqlInventoryStore, work: Path, **config: Any
) -> Scheduler:
    """A scheduler of the test applications: 2 readers, fast polls, children forget the pool."""
    settings: dict[str, Any] = {
        "work_dir": work,
        "max_readers": 2,
        "poll_seconds": 0.02,
        "default_timeout": 60,
    }
    settings.update(config)
    runner = ForkRunner(
        work, child_hooks=[lambda: store.engine.dispose(close=False)], kill_grace=0.5
    )
    return Scheduler(
        service, make_registry(), SqlRunStore(store.engine), runner, SchedulerConfig(**settings)
    )


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (at most WAIT seconds) until ``condition()`` holds."""
    async with asyncio.timeout(WAIT):
        while not condition():
            await asyncio.sleep(0.01)
    assert condition(), what


async def finished(scheduler: Scheduler, run: AppRun) -> AppRun:
    return await scheduler.wait(run.id, timeout=WAIT)
