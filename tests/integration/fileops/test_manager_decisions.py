"""The manager's decisions: holds, satisfied subscriptions, cancellation, submission failures,
crash leftovers and tape staging (SQLite, memory backend unless real files are moved)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select, update

from dynamo.fileops.endpoints import Endpoint
from dynamo.fileops.manager import CycleSummary, ManagerOptions, run_cycle
from dynamo.fileops.ports import (
    BatchSpec,
    FileOpBackend,
    MemoryFileOpBackend,
    OpKind,
    TaskResult,
)
from dynamo.fileops.standalone import StandaloneBackend
from dynamo.fileops.subscriptions import cancel_files, subscribe
from dynamo.fileops.worker import Worker, WorkerOptions
from dynamo.model import ChangeSet, SiteStatus, UpsertSite
from dynamo.store.schema.fileops import (
    fileop_batches,
    fileop_failures,
    fileop_history,
    fileop_subscriptions,
    fileop_tasks,
)

from .manager_world import World, content, lfn, make_world

NOW = 1_700_000_000


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    made = make_world(sqlite_url, tmp_path / "sites")
    for site, endpoint in list(made.endpoints.items()):
        made.endpoints._by_site[site] = Endpoint(site=site, url=endpoint.url, backend="memory")
    yield made
    made.store.close()


def cycle(world: World, backend: FileOpBackend, now: int = NOW) -> CycleSummary:
    return run_cycle(
        world.engine, world.inventory, world.endpoints, {"memory": backend}, now, ManagerOptions()
    )


def hold_reasons(world: World) -> dict[str, tuple[str, str | None]]:
    s = fileop_subscriptions
    with world.engine.connect() as conn:
        rows = conn.execute(select(s.c.site, s.c.status, s.c.hold_reason)).all()
    return {site: (status, reason) for site, status, reason in rows}


def test_a_file_no_ready_site_holds_is_held_no_source(world: World) -> None:
    world.inventory.apply(
        ChangeSet.of([UpsertSite(name=n, status=SiteStatus.MORGUE) for n in "AB"])
    )
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs[:1], origin="operator", now=NOW)
    summary = cycle(world, MemoryFileOpBackend())
    assert summary.held == {"no_source": 1}
    assert hold_reasons(world)["DST"] == ("held", "no_source")


def test_subscriptions_at_an_unavailable_site_wait_until_it_is_ready(world: World) -> None:
    backend = MemoryFileOpBackend()
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DOWN", world.refs[:1], origin="operator", now=NOW)
    assert cycle(world, backend).held_site_unavailable == 1
    assert hold_reasons(world)["DOWN"] == ("held", "site_unavailable")
    world.inventory.apply(ChangeSet.of([UpsertSite(name="DOWN", status=SiteStatus.READY)]))
    summary = cycle(world, backend, NOW + 1)
    assert (summary.released_site_available, summary.tasks_submitted) == (1, 1)
    cycle(world, backend, NOW + 2)
    assert hold_reasons(world)["DOWN"] == ("done", None)


def test_a_transfer_to_a_site_that_already_holds_the_block_is_done_at_once(world: World) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "A", world.refs, origin="operator", now=NOW)
    summary = cycle(world, MemoryFileOpBackend())
    assert (summary.satisfied, summary.tasks_submitted) == (len(world.refs), 0)


def test_a_cancelled_subscription_has_its_task_cancelled_and_archived(world: World) -> None:
    backend = MemoryFileOpBackend(delay_polls=1)
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.DELETION, "B", world.refs[:1], origin="detox", now=NOW)
    assert cycle(world, backend).tasks_submitted == 1
    with world.engine.begin() as conn:
        cancel_files(conn, OpKind.DELETION, "B", [lfn(0)], now=NOW)
    summary = cycle(world, backend, NOW + 1)
    assert summary.cancel_requests == 1
    summary = cycle(world, backend, NOW + 2)
    assert summary.cancelled == 1
    assert hold_reasons(world)["B"] == ("cancelled", None)
    with world.engine.connect() as conn:
        assert conn.execute(select(fileop_history.c.status)).scalars().all() == ["cancelled"]
        assert conn.execute(select(fileop_batches.c.id)).all() == []


class RefusingBackend(MemoryFileOpBackend):
    def submit(self, batch: BatchSpec) -> str | None:
        raise ConnectionError("service down")


def test_a_failed_submission_sends_the_subscriptions_back_to_retry(world: World) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
    summary = cycle(world, RefusingBackend())
    assert summary.submit_failures == len(world.refs)
    assert hold_reasons(world)["DST"] == ("retry", None)
    with world.engine.connect() as conn:
        codes = conn.execute(select(fileop_failures.c.exit_code)).scalars().all()
        assert conn.execute(select(fileop_tasks.c.id)).all() == []
    assert codes == [-1] * len(world.refs)


def test_an_inbatch_subscription_without_a_task_goes_back_to_new(world: World) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs[:1], origin="operator", now=NOW)
        conn.execute(update(fileop_subscriptions).values(status="inbatch"))
    summary = cycle(world, MemoryFileOpBackend())
    assert summary.cleaned == 1
    assert summary.tasks_submitted == 1


def test_files_only_on_tape_are_staged_then_copied(sqlite_url: str, tmp_path: Path) -> None:
    world = make_world(sqlite_url, tmp_path / "sites", holders=("T_MSS",), tape_delay=0.0)
    try:
        with world.engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
        backend = StandaloneBackend(world.engine, clock=lambda: NOW)
        summary = run_cycle(
            world.engine, world.inventory, world.endpoints, {"standalone": backend}, NOW
        )
        assert summary.batches_submitted == 1
        with world.engine.connect() as conn:
            assert conn.execute(select(fileop_batches.c.staging)).scalars().all() == [1]
        worker = Worker(world.engine, world.endpoints, WorkerOptions(worker_id="w"))
        worker.run(once=True)
        run_cycle(world.engine, world.inventory, world.endpoints, {"standalone": backend}, NOW)
        assert set(world.statuses().values()) == {"done"}
        for index in range(len(world.refs)):
            assert world.site_file("DST", index).read_bytes() == content(index)
    finally:
        world.store.close()


class FlakyBackend(MemoryFileOpBackend):
    is_down = True

    def poll(self, batch: BatchSpec) -> Sequence[TaskResult]:
        if self.is_down:
            raise ConnectionError("poll refused")
        return MemoryFileOpBackend.poll(self, batch)

    def pending(self) -> int:
        if self.is_down:
            raise ConnectionError("pending refused")
        return MemoryFileOpBackend.pending(self)


def test_a_failing_backend_costs_a_cycle_and_loses_nothing(world: World) -> None:
    backend = FlakyBackend()
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
    assert cycle(world, backend).tasks_submitted == 0  # pending() failed: nothing sent
    backend.is_down = False
    assert cycle(world, backend, NOW + 1).tasks_submitted == len(world.refs)
    backend.is_down = True
    summary = cycle(world, backend, NOW + 2)
    assert summary.backend_errors > 0  # one per batch in flight
    assert summary.done == 0
    backend.is_down = False
    assert cycle(world, backend, NOW + 3).done == len(world.refs)
    assert set(world.statuses().values()) == {"done"}
