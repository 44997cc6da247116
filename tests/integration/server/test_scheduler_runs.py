"""The scheduler forks real children against a real SQLite store.

Waits are bounded (WAIT seconds) and concurrency is observed through gate files, never through
wall-clock measurements.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sched_support import WAIT, finished, make_scheduler, until

from doubles import toy_compiler
from dynamo.server.applications import ApplicationNotAuthorizedError
from dynamo.server.schedconfig import IntervalEntry
from dynamo.server.scheduler import Scheduler
from dynamo.server.service import InventoryService
from dynamo.store import SideWrite, SqlInventoryStore
from dynamo.store.appruns import AppRun, RunMode, RunStatus
from unit.model.conftest import DATASET


async def test_a_write_app_s_changeset_is_committed_and_visible(
    scheduler: Scheduler, service: InventoryService, store: SqlInventoryStore
) -> None:
    run = await scheduler.submit(
        "set-dataset-status",
        args={"datasets": "/ZeroBias/*", "status": "invalid"},
        authorized=True,
    )
    assert run.mode is RunMode.WRITE
    done = await finished(scheduler, run)
    assert done.status is RunStatus.DONE, done.error
    assert done.log_seq == service.seq == 2
    assert service.inventory.datasets[DATASET].status.name == "INVALID"
    assert done.summary is not None
    assert done.summary["changed"] == 1
    reloaded, seq = store.load(partition_compiler=toy_compiler)
    assert seq == 2
    assert reloaded.datasets[DATASET].status.name == "INVALID"


@pytest.mark.parametrize(
    ("how", "status", "exit_code"),
    [
        ("raise", RunStatus.FAILED, 1),
        ("exit3", RunStatus.FAILED, 3),
        ("sigkill", RunStatus.FAILED, -9),
        ("garbage", RunStatus.FAILED, 0),
    ],
)
async def test_a_crashing_app_commits_nothing(
    scheduler: Scheduler, service: InventoryService, how: str, status: RunStatus, exit_code: int
) -> None:
    run = await scheduler.submit("crash", args={"how": how}, authorized=True)
    done = await finished(scheduler, run)
    assert (done.status, done.exit_code) == (status, exit_code)
    assert done.log_seq is None
    assert done.error
    assert service.seq == 1
    assert "T3_SHOULD_NOT_EXIST" not in service.inventory.sites


async def test_the_traceback_of_a_failed_app_is_in_its_log(scheduler: Scheduler) -> None:
    run = await scheduler.submit("crash", args={"how": "raise"}, authorized=True)
    await finished(scheduler, run)
    text = Path(run.log_path).read_text()
    assert "RuntimeError: the application failed on purpose" in text


async def test_a_timed_out_app_is_killed_and_commits_nothing(
    scheduler: Scheduler, service: InventoryService, tmp_path: Path
) -> None:
    run = await scheduler.submit(
        "gate-write", args={"gate_dir": str(tmp_path)}, timeout=1, authorized=True
    )
    done = await finished(scheduler, run)
    assert done.status is RunStatus.TIMEOUT
    assert done.exit_code is not None
    assert done.exit_code < 0
    assert service.seq == 1


async def test_a_killed_app_commits_nothing(
    scheduler: Scheduler, service: InventoryService, tmp_path: Path
) -> None:
    run = await scheduler.submit("gate-write", args={"gate_dir": str(tmp_path)}, authorized=True)
    await until(lambda: (tmp_path / f"started-{run.id}").exists(), "the app started")
    killed = await scheduler.kill(run.id)
    assert killed.status is RunStatus.KILLED
    (tmp_path / "release").touch()
    assert service.seq == 1


async def test_readers_run_in_parallel_while_a_second_writer_waits_for_the_first(
    scheduler: Scheduler, service: InventoryService, tmp_path: Path
) -> None:
    gate = {"gate_dir": str(tmp_path)}
    writer1 = await scheduler.submit("gate-write", args={**gate, "site": "T3_A"}, authorized=True)
    writer2 = await scheduler.submit("gate-write", args={**gate, "site": "T3_B"}, authorized=True)
    reader1 = await scheduler.submit("gate-read", args=gate)
    reader2 = await scheduler.submit("gate-read", args=gate)

    def started(run: AppRun) -> bool:
        return (tmp_path / f"started-{run.id}").exists()

    await until(lambda: started(writer1) and started(reader1) and started(reader2), "3 running")
    assert not started(writer2)
    assert (await scheduler.get(writer2.id)).status is RunStatus.QUEUED
    (tmp_path / "release").touch()
    results = [await finished(scheduler, run) for run in (writer1, writer2, reader1, reader2)]
    assert [r.status for r in results] == [RunStatus.DONE] * 4
    assert results[0].log_seq == 2
    assert results[1].log_seq == 3
    assert {"T3_A", "T3_B"} <= service.inventory.sites.keys()


async def test_the_child_s_snapshot_is_isolated_from_the_server(
    scheduler: Scheduler, service: InventoryService
) -> None:
    done = await finished(scheduler, await scheduler.submit("mutate"))
    assert done.status is RunStatus.DONE
    assert done.summary == {"datasets_before": 1, "datasets_after": 0}
    assert DATASET in service.inventory.datasets
    assert "T2_US_MIT" in {site.name for site in service.inventory.sites.values()}


async def test_a_write_app_run_read_only_is_a_dry_run(
    scheduler: Scheduler, service: InventoryService
) -> None:
    run = await scheduler.submit(
        "set-dataset-status", args={"datasets": "*", "status": "INVALID"}, writes=False
    )
    done = await finished(scheduler, run)
    assert done.status is RunStatus.DONE
    assert done.summary is not None
    assert done.summary["discarded"]["operations"] == 1
    assert service.seq == 1


async def test_a_write_run_needs_an_authorisation_by_name(
    scheduler: Scheduler, service: InventoryService
) -> None:
    args = {"datasets": "*", "status": "INVALID"}
    with pytest.raises(ApplicationNotAuthorizedError, match="not authorised"):
        await scheduler.submit("set-dataset-status", args=args, user_dn="/CN=alice")
    [refused] = await scheduler.list_runs(status=RunStatus.AUTHFAILED)
    assert refused.user_dn == "/CN=alice"
    scheduler.runs.authorize("set-dataset-status", "/CN=alice")
    run = await scheduler.submit("set-dataset-status", args=args, user_dn="/CN=alice")
    assert (await finished(scheduler, run)).status is RunStatus.DONE


async def test_records_without_a_sink_fail_the_run_and_commit_nothing(
    scheduler: Scheduler, service: InventoryService
) -> None:
    done = await finished(scheduler, await scheduler.submit("records", authorized=True))
    assert done.status is RunStatus.FAILED
    assert "record sink" in (done.error or "")
    assert service.seq == 1


async def test_records_are_written_inside_the_commit_transaction(
    service: InventoryService, store: SqlInventoryStore, tmp_path: Path
) -> None:
    seen: list[tuple[int | None, list[dict[str, Any]]]] = []

    def sink(run: AppRun, records: list[dict[str, Any]]) -> SideWrite:
        def write(connection: object, seq: int | None) -> None:
            assert connection is not None
            seen.append((seq, records))

        return write

    scheduler = make_scheduler(service, store, tmp_path / "work")
    scheduler.record_sink = sink
    await scheduler.start()
    try:
        done = await finished(scheduler, await scheduler.submit("records", authorized=True))
    finally:
        await scheduler.stop()
    assert done.status is RunStatus.DONE
    assert seen == [(2, [{"kind": "cycle", "run": done.id, "draw": seen[0][1][0]["draw"]}])]


async def test_run_history_survives_a_restart(
    service: InventoryService, store: SqlInventoryStore, tmp_path: Path
) -> None:
    first = make_scheduler(service, store, tmp_path / "work")
    await first.start()
    done = await finished(first, await first.submit("noop"))
    await first.stop()
    second = make_scheduler(service, store, tmp_path / "work")
    await second.start()
    try:
        runs = await second.list_runs(app="noop")
    finally:
        await second.stop()
    assert [(r.id, r.status) for r in runs] == [(done.id, RunStatus.DONE)]


async def test_an_interval_schedule_runs_its_app_again(
    service: InventoryService, store: SqlInventoryStore, tmp_path: Path
) -> None:
    scheduler = make_scheduler(
        service,
        store,
        tmp_path / "work",
        intervals=(IntervalEntry(name="tick", app="noop", every=0.05),),
    )
    await scheduler.start()
    try:
        async with asyncio.timeout(WAIT):
            while len(await scheduler.list_runs(app="noop", status=RunStatus.DONE)) < 2:
                await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
    runs = await scheduler.list_runs(app="noop")
    assert all(r.source == "interval:tick" for r in runs)
