"""Applications for the scheduler tests: crashes of every kind, gates and snapshot mutation.

Gates make concurrency observable without timing: an app touches ``started-RUN_ID`` in the
``gate_dir`` argument when it starts and waits (bounded) until ``release`` exists there.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from dynamo.model import ChangeSet, UpsertBlock, UpsertDataset, UpsertSite
from dynamo.server.applications import AppContext, ApplicationRegistry, AppResult
from dynamo.server.builtin_apps import builtin_registry

GATE_LIMIT_SECONDS = 60.0


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
