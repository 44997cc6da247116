"""The updater on real databases: rows and inventory change in one commit, or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from dynamo.errors import StoreError
from dynamo.fileops import updater
from dynamo.fileops.updater import UpdateOptions, run_update
from dynamo.model import ChangeSet, Inventory, UpsertBlockReplica, UpsertDatasetReplica, describe
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.detox import replica_deletions
from dynamo.store.schema.fileops import fileop_subscriptions
from fileops_data import (
    B1,
    B2,
    DS,
    DST,
    GROUP,
    NOW,
    SRC,
    add_batch_task,
    add_replica_deletion,
    add_subscription,
    base_ops,
    lfn,
    subscription_rows,
)
from integration.server.sched_support import finished

BACKENDS = ("sqlite", "postgresql", "mysql")
DatabaseUrlFactory = Callable[[str], str]  # the fixture of tests/conftest.py


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, database_url_factory: DatabaseUrlFactory
) -> Iterator[SqlInventoryStore]:
    store = SqlInventoryStore.open(database_url_factory(request.param), upgrade=True)
    store.commit(base_ops(), store.load()[0])
    yield store
    store.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlInventoryStore]:
    store = SqlInventoryStore.open(sqlite_url, upgrade=True)
    store.commit(base_ops(), store.load()[0])
    yield store
    store.close()


def loaded(store: SqlInventoryStore) -> Inventory:
    return store.load()[0]


def replica_at(inventory: Inventory, site: str, block: str = B1) -> tuple[int, int] | None:
    found = inventory.find_block_replica(DS, block, site)
    return None if found is None else (found.size, found.num_files)


def set_status(store: SqlInventoryStore, id_: int, status: str, updated: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            update(fileop_subscriptions)
            .where(fileop_subscriptions.c.id == id_)
            .values(status=status, updated=updated)
        )


def test_a_block_replica_grows_file_by_file_and_becomes_complete(
    store: SqlInventoryStore,
) -> None:
    ids = [add_subscription(store.engine, index=i, status="inbatch") for i in range(3)]
    inventory = loaded(store)
    sizes = []
    for step, id_ in enumerate(ids):
        set_status(store, id_, "done", NOW + step)
        run_update(store, inventory, now=NOW + step, options=UpdateOptions(default_group=GROUP))
        sizes.append(replica_at(inventory, DST))
        assert describe(loaded(store)) == describe(inventory)
    assert sizes == [(100, 1), (300, 2), (600, 3)]
    assert subscription_rows(store.engine) == set()
    found = inventory.find_block_replica(DS, B1, DST)
    assert found is not None
    assert found.group.name == GROUP
    assert found.last_update == NOW + 2


def test_deletions_shrink_then_remove_replicas_and_close_the_detox_deletion(
    store: SqlInventoryStore,
) -> None:
    queued = add_replica_deletion(store.engine, block=B2, site=SRC)
    first = add_subscription(store.engine, kind="deletion", block=B2, index=0, site=SRC)
    add_subscription(store.engine, kind="deletion", block=B2, index=1, site=SRC, status="inbatch")
    set_status(store, first, "done", NOW)
    inventory = loaded(store)
    run_update(store, inventory, now=NOW)
    assert replica_at(inventory, SRC, B2) == (50, 1)
    with store.engine.connect() as conn:
        assert conn.execute(select(replica_deletions.c.status)).scalar_one() == "queued"

    second = {r[0] for r in subscription_rows(store.engine, ("id",))}.pop()
    set_status(store, second, "done", NOW + 1)
    result = run_update(store, inventory, now=NOW + 1)
    assert replica_at(inventory, SRC, B2) is None
    assert result.plan.summary()["replica_deletions_done"] == 1
    assert subscription_rows(store.engine) == set()
    with store.engine.connect() as conn:
        status = conn.execute(
            select(replica_deletions.c.status).where(replica_deletions.c.id == queued)
        ).scalar_one()
    assert status == "done"
    assert describe(loaded(store)) == describe(inventory)


def test_the_last_block_replica_takes_its_dataset_replica_with_it(
    store: SqlInventoryStore,
) -> None:
    for block, count in ((B1, 3), (B2, 2)):
        for index in range(count):
            add_subscription(
                store.engine, kind="deletion", block=block, index=index, site=SRC, status="done"
            )
    inventory = loaded(store)
    run_update(store, inventory, now=NOW)
    assert inventory.datasets[DS].replicas == {}
    assert describe(loaded(store)) == describe(inventory)


def test_a_crash_in_the_side_write_leaves_nothing_applied(
    sqlite_store: SqlInventoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store
    for index in range(3):
        add_subscription(store.engine, index=index, status="done")
    add_subscription(
        store.engine, index=0, block=B2, site=SRC, status="held", hold_reason="site_unavailable"
    )
    inventory = loaded(store)
    before_rows = subscription_rows(store.engine, ("id", "status"))
    before_seq = store.last_seq()
    before = describe(inventory)
    real = updater.apply_row_changes

    def crash(conn: Any, changes: Any, *, now: int) -> None:
        real(conn, changes, now=now)
        raise StoreError("the disk caught fire")

    monkeypatch.setattr(updater, "apply_row_changes", crash)
    with pytest.raises(StoreError, match="caught fire"):
        run_update(store, inventory, now=NOW, options=UpdateOptions(default_group=GROUP))
    assert describe(inventory) == before
    assert store.last_seq() == before_seq
    assert subscription_rows(store.engine, ("id", "status")) == before_rows
    assert describe(loaded(store)) == before


def test_a_subscription_changed_since_the_plan_rolls_the_commit_back(
    sqlite_store: SqlInventoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store
    ids = [add_subscription(store.engine, index=i, status="done") for i in range(3)]
    inventory = loaded(store)
    real = updater.read_update_input

    def read_then_change(engine: Any) -> Any:
        rows = real(engine)
        set_status(store, ids[0], "new", NOW)  # subscribed again after the read
        return rows

    monkeypatch.setattr(updater, "read_update_input", read_then_change)
    with pytest.raises(StoreError, match="changed since the update was planned"):
        run_update(store, inventory, now=NOW, options=UpdateOptions(default_group=GROUP))
    assert replica_at(inventory, DST) is None
    assert len(subscription_rows(store.engine)) == 3


def test_missing_files_are_subscribed_again_once(store: SqlInventoryStore) -> None:
    inventory = loaded(store)
    store.commit(
        ChangeSet.of(
            [
                UpsertDatasetReplica(dataset=DS, site=DST, group=GROUP),
                UpsertBlockReplica(
                    dataset=DS, block=B1, site=DST, group=GROUP, size=0, num_files=0
                ),
            ]
        ),
        inventory,
    )
    add_subscription(store.engine, index=0, status="inbatch")
    result = run_update(store, inventory, now=NOW)
    assert result.plan.summary()["subscriptions_created"] == 2
    rows = subscription_rows(store.engine, ("lfn", "status", "origin", "adler32"))
    assert rows == {
        (lfn(DS, B1, 0), "inbatch", "dealer", "00000001"),
        (lfn(DS, B1, 1), "new", "updater", "00000002"),
        (lfn(DS, B1, 2), "new", "updater", "00000003"),
    }
    assert run_update(store, inventory, now=NOW + 1).plan.summary()["subscriptions_created"] == 0


def test_a_subscription_created_meanwhile_is_not_inserted_twice(
    sqlite_store: SqlInventoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store
    inventory = loaded(store)
    store.commit(
        ChangeSet.of(
            [
                UpsertDatasetReplica(dataset=DS, site=DST, group=GROUP),
                UpsertBlockReplica(
                    dataset=DS, block=B2, site=DST, group=GROUP, size=0, num_files=0
                ),
            ]
        ),
        inventory,
    )
    real = updater.read_update_input

    def read_then_subscribe(engine: Any) -> Any:
        rows = real(engine)
        add_subscription(store.engine, block=B2, index=1)
        return rows

    monkeypatch.setattr(updater, "read_update_input", read_then_subscribe)
    run_update(store, inventory, now=NOW)
    assert subscription_rows(store.engine, ("lfn", "origin")) == {
        (lfn(DS, B2, 0), "updater"),
        (lfn(DS, B2, 1), "dealer"),
    }


def test_held_subscriptions_are_released_and_cancelled_ones_dropped(
    store: SqlInventoryStore,
) -> None:
    held = add_subscription(store.engine, index=0, status="held", hold_reason="site_unavailable")
    kept = add_subscription(store.engine, index=1, status="held", hold_reason="all_failed")
    cancelled = add_subscription(store.engine, block=B2, index=0, status="cancelled")
    busy = add_subscription(store.engine, block=B2, index=1, status="cancelled")
    add_batch_task(store.engine, busy)
    run_update(store, loaded(store), now=NOW)
    rows = subscription_rows(store.engine, ("id", "status", "hold_reason", "updated"))
    assert rows == {
        (held, "new", None, NOW),
        (kept, "held", "all_failed", NOW - 100),
        (busy, "cancelled", None, NOW - 100),
    }
    assert cancelled not in {r[0] for r in rows}


def test_a_dry_run_changes_nothing(sqlite_store: SqlInventoryStore) -> None:
    store = sqlite_store
    for index in range(3):
        add_subscription(store.engine, index=index, status="done")
    inventory = loaded(store)
    result = run_update(store, inventory, now=NOW, dry_run=True)
    assert result.seq is None
    assert result.plan.summary()["block_replicas_updated"] == 1
    assert replica_at(inventory, DST) is None
    assert len(subscription_rows(store.engine)) == 3


async def test_the_scheduled_updater_commits_rows_and_changeset_together(
    sqlite_store: SqlInventoryStore, tmp_path: Path
) -> None:
    from dynamo.server.schedconfig import SchedulerConfig
    from dynamo.server.scheduler import build_scheduler
    from dynamo.server.service import InventoryService
    from dynamo.store.appruns import RunStatus

    store = sqlite_store
    for index in range(2):
        add_subscription(store.engine, block=B2, index=index, status="done")
    service = InventoryService.load(store)
    scheduler = build_scheduler(
        service,
        store,
        SchedulerConfig(work_dir=tmp_path / "work", poll_seconds=0.02, default_timeout=120),
    )
    assert scheduler is not None
    await scheduler.start()
    try:
        done = await finished(
            scheduler,
            await scheduler.submit("updater", args={"default_group": GROUP}, authorized=True),
        )
    finally:
        await scheduler.stop()
    assert done.status is RunStatus.DONE, done.error
    assert done.summary["block_replicas_updated"] == 1
    assert done.log_seq == service.seq
    assert replica_at(service.inventory, DST, B2) == (100, 2)
    assert subscription_rows(store.engine) == set()
    assert describe(loaded(store)) == describe(service.inventory)


def test_the_server_record_sink_keeps_a_failed_update_out_of_the_commit(
    sqlite_store: SqlInventoryStore,
) -> None:
    from dynamo.fileops.updater import plan_update, read_update_input
    from dynamo.server.scheduler import record_sink
    from dynamo.store.appruns import AppRun, RunMode

    store = sqlite_store
    ids = [add_subscription(store.engine, block=B2, index=i, status="done") for i in range(2)]
    inventory = loaded(store)
    plan = plan_update(
        inventory,
        read_update_input(store.engine),
        store,
        now=NOW,
        options=UpdateOptions(default_group=GROUP),
    )
    set_status(store, ids[1], "new", NOW)  # a concurrent subscriber revived one
    run = AppRun(id=7, app="updater", mode=RunMode.WRITE, submitted=NOW)
    sink = record_sink(run, [plan.rows.to_record()])
    before_seq = store.last_seq()
    with pytest.raises(StoreError, match="changed since the update was planned"):
        store.commit(plan.changeset, inventory, also=sink)
    assert store.last_seq() == before_seq
    assert replica_at(inventory, DST, B2) is None
    assert subscription_rows(store.engine, ("id", "status")) == {(ids[0], "done"), (ids[1], "new")}


async def test_the_updater_run_read_only_changes_nothing(
    sqlite_store: SqlInventoryStore, tmp_path: Path
) -> None:
    from dynamo.server.schedconfig import SchedulerConfig
    from dynamo.server.scheduler import build_scheduler
    from dynamo.server.service import InventoryService
    from dynamo.store.appruns import RunStatus

    store = sqlite_store
    for index in range(2):
        add_subscription(store.engine, block=B2, index=index, status="done")
    service = InventoryService.load(store)
    scheduler = build_scheduler(
        service,
        store,
        SchedulerConfig(work_dir=tmp_path / "work", poll_seconds=0.02, default_timeout=120),
    )
    assert scheduler is not None
    await scheduler.start()
    try:
        done = await finished(scheduler, await scheduler.submit("updater", writes=False))
    finally:
        await scheduler.stop()
    assert done.status is RunStatus.DONE, done.error
    assert done.summary is not None
    assert (done.summary["dry_run"], done.summary["block_replicas_updated"]) == (True, 1)
    assert replica_at(service.inventory, DST, B2) is None
    assert len(subscription_rows(store.engine)) == 2
