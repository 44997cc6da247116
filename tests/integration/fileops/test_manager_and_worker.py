"""The manager and the standalone worker move and delete real files between posix sites."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from dynamo.fileops.manager import CycleSummary, ManagerOptions, run_cycle
from dynamo.fileops.ports import OpKind
from dynamo.fileops.standalone import StandaloneBackend
from dynamo.fileops.subscriptions import subscribe
from dynamo.fileops.worker import Worker, WorkerOptions
from dynamo.store.schema.detox import replica_deletions
from dynamo.store.schema.fileops import fileop_failures, fileop_history

from .manager_world import BLOCK, DS, World, content, lfn, make_world

NOW = 1_700_000_000


def cycle(world: World, now: int = NOW) -> CycleSummary:
    backend = StandaloneBackend(world.engine, clock=lambda: now)
    return run_cycle(
        world.engine,
        world.inventory,
        world.endpoints,
        {"standalone": backend},
        now,
        ManagerOptions(seed=1),
    )


def work(world: World) -> None:
    Worker(world.engine, world.endpoints, WorkerOptions(worker_id="w1", parallel=2)).run(once=True)


def settle(world: World, rounds: int = 6) -> None:
    for i in range(rounds):
        cycle(world, NOW + i)
        work(world)
    cycle(world, NOW + rounds)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def world(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str], tmp_path: Path
) -> Iterator[World]:
    made = make_world(database_url_factory(request.param), tmp_path / "sites")
    yield made
    made.store.close()


def test_transfers_copy_verified_files_and_deletions_remove_them(world: World) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
        conn.execute(
            insert(replica_deletions).values(
                dataset=DS, block=BLOCK, site="B", size=1, status="new", created=NOW, updated=NOW
            )
        )
    settle(world)
    for index in range(len(world.refs)):
        assert world.site_file("DST", index).read_bytes() == content(index)
        assert not world.site_file("B", index).exists()
        assert world.site_file("A", index).exists()
    statuses = world.statuses()
    assert set(statuses.values()) == {"done"}
    assert len(statuses) == 2 * len(world.refs)
    with world.engine.connect() as conn:
        history = conn.execute(select(fileop_history.c.kind, fileop_history.c.status)).all()
        queued = conn.execute(select(replica_deletions.c.status)).scalars().all()
    assert sorted(history) == sorted(
        [("transfer", "done")] * len(world.refs) + [("deletion", "done")] * len(world.refs)
    )
    assert queued == ["queued"]
    leftovers = [p for p in (world.root / "DST").rglob("*") if ".dynamo-part-" in p.name]
    assert leftovers == []


def test_a_corrupted_source_file_is_caught_by_its_checksum_and_never_done(
    database_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    world = make_world(database_url_factory("sqlite"), tmp_path, holders=("A",))
    world.site_file("A", 0).write_bytes(b"bit rot" + content(0)[7:])
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs[:1], origin="operator", now=NOW)
    settle(world)
    assert world.statuses()[("transfer", lfn(0), "DST")] == "held"
    assert not world.site_file("DST", 0).exists()
    with world.engine.connect() as conn:
        failures = conn.execute(
            select(fileop_failures.c.source_site, fileop_failures.c.exit_code)
        ).all()
    assert failures == [("A", errno.EIO)]
    world.store.close()
