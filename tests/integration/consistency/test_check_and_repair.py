"""A site with planted differences is reported exactly, repaired, and clean on the next run.

Real files on posix sites (and the checked site on a real XRootD server), a real SQLite or
PostgreSQL inventory, the file-operations manager and standalone worker for the repairs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from dynamo.consistency import Action, ConsistencyConfig, Kind, check_site, run_files
from dynamo.fileops.manager import ManagerOptions, run_cycle
from dynamo.fileops.standalone import StandaloneBackend
from dynamo.fileops.worker import Worker, WorkerOptions
from dynamo.storage import PosixStorage, StorageBackend, adler32_file
from dynamo.store.schema.fileops import fileop_subscriptions
from integration.fileops.manager_world import World, content, lfn, make_world

OLD = time.time() - 30 * 86_400
CONFIG = ConsistencyConfig(
    directories=("/store",), grace_seconds=3600, max_missing_fraction=1.0, max_orphan_fraction=1.0
)


def _age(tree: Path) -> None:
    for directory, dirs, files in os.walk(tree, topdown=False):
        for name in files + dirs:
            os.utime(Path(directory) / name, (OLD, OLD))


def _plant(site_root: Path) -> dict[str, str]:
    """Differences at site A: one file gone, one cut short, an old orphan, a young orphan, an
    old empty directory."""
    (site_root / lfn(0).lstrip("/")).unlink()
    short = site_root / lfn(1).lstrip("/")
    short.write_bytes(content(1)[:100])
    orphan = site_root / "store/data/Proc/AOD/dark.root"
    orphan.write_bytes(b"nobody knows me")
    empty = site_root / "store/data/Proc/AOD/empty/dir"
    empty.mkdir(parents=True)
    _age(site_root)
    young = site_root / "store/data/Proc/AOD/young.root"
    young.write_bytes(b"just written")
    return {
        "missing": lfn(0),
        "short": lfn(1),
        "orphan": "/store/data/Proc/AOD/dark.root",
        "empty": "/store/data/Proc/AOD/empty/dir",
        "young": "/store/data/Proc/AOD/young.root",
    }


def _repair(world: World, rounds: int = 4) -> None:
    for i in range(rounds):
        now = int(time.time()) + i
        run_cycle(
            world.engine,
            world.inventory,
            world.endpoints,
            {"standalone": StandaloneBackend(world.engine, clock=lambda at=now: at)},
            now,
            ManagerOptions(seed=1),
        )
        Worker(world.engine, world.endpoints, WorkerOptions(worker_id="w", parallel=1)).run(
            once=True
        )


def _check(world: World, storage: StorageBackend, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return check_site(
        engine=world.engine,
        inventory=world.inventory,
        site="A",
        storage=storage,
        config=CONFIG,
        dry_run=dry_run,
    )


def _by_kind(result) -> dict[tuple[str, str], list[str]]:  # type: ignore[no-untyped-def]
    found: dict[tuple[str, str], list[str]] = {}
    for f in result.findings:
        found.setdefault((f.kind.value, f.action.value), []).append(f.path)
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url_factory: Callable[[str], str],
) -> Iterator[World]:
    made = make_world(database_url_factory(str(request.param)), tmp_path, num_files=4)
    yield made
    made.store.close()


def test_planted_differences_are_reported_repaired_and_then_clean(world: World) -> None:
    site_root = world.root / "A"
    planted = _plant(site_root)
    storage = PosixStorage(str(site_root))

    dry = _check(world, storage, dry_run=True)
    assert dry.mode == "dry_run"
    assert (site_root / planted["orphan"].lstrip("/")).exists()  # a dry run touches nothing

    first = _check(world, storage)
    assert _by_kind(first) == {
        ("missing", "wait"): [planted["missing"]],
        ("orphan", "delete"): [planted["orphan"]],
        ("size_mismatch", "transfer"): [planted["short"]],
        ("empty_dir", "delete"): [planted["empty"], planted["empty"].rsplit("/", 1)[0]],
    }
    assert first.summary["skipped_young"] == 1
    assert not (site_root / planted["orphan"].lstrip("/")).exists()
    assert not (site_root / planted["empty"].lstrip("/")).parent.exists()
    assert not (site_root / planted["short"].lstrip("/")).exists()  # the wrong file is gone
    assert (site_root / planted["young"].lstrip("/")).exists()

    second = _check(world, storage)  # missing twice: re-transfer from B
    assert _by_kind(second) == {("missing", "transfer"): [planted["missing"]]}
    assert second.summary["skipped_in_flight"] == 1  # the short file, already subscribed
    subs = fileop_subscriptions
    with world.engine.connect() as conn:
        queued = conn.execute(
            select(subs.c.lfn, subs.c.origin).where(subs.c.site == "A").order_by(subs.c.lfn)
        ).all()
    assert [tuple(row) for row in queued] == [
        (planted["missing"], "consistency"),
        (planted["short"], "consistency"),
    ]

    _repair(world)
    for index in (0, 1):
        restored = site_root / lfn(index).lstrip("/")
        assert restored.read_bytes() == content(index)
        assert adler32_file(restored) == world.refs[index].adler32

    _age(site_root / "store")
    os.utime(site_root / planted["young"].lstrip("/"))  # still young
    third = _check(world, storage)
    assert _by_kind(third) == {}
    assert third.status == "done"
    assert third.summary["listed_files"] == 5  # the four files and the young orphan
    files = run_files(world.engine, first.run_id)  # type: ignore[arg-type]
    assert {(f.kind, f.action) for f in files} == {
        (Kind.MISSING.value, Action.WAIT.value),
        (Kind.ORPHAN.value, Action.DELETE.value),
        (Kind.SIZE_MISMATCH.value, Action.TRANSFER.value),
        (Kind.EMPTY_DIR.value, Action.DELETE.value),
    }


def test_too_many_orphans_hold_every_deletion(world: World) -> None:
    site_root = world.root / "A"
    for n in range(6):
        (site_root / f"store/dark/{n}.root").parent.mkdir(parents=True, exist_ok=True)
        (site_root / f"store/dark/{n}.root").write_bytes(b"x")
    _age(site_root)
    storage = PosixStorage(str(site_root))
    result = check_site(
        engine=world.engine,
        inventory=world.inventory,
        site="A",
        storage=storage,
        config=ConsistencyConfig(directories=("/store",), max_orphan=5, grace_seconds=3600),
    )
    assert result.status == "held"
    assert result.reason == "orphan files: 6 > 5; nothing deleted"
    assert {f.action for f in result.findings if f.kind is Kind.ORPHAN} == {Action.HELD}
    assert len(list((site_root / "store/dark").iterdir())) == 6


def test_the_site_on_a_real_xrootd_server(
    world: World, xrootd_site: tuple[StorageBackend, Path]
) -> None:
    storage, data = xrootd_site
    source = world.root / "A"
    for index in (0, 1, 3):  # written through the server, which owns its files
        storage.upload(source / lfn(index).lstrip("/"), lfn(index))
    dark = source / "dark.root"
    dark.write_bytes(b"dark")
    storage.upload(dark, "/store/data/Proc/AOD/dark.root")
    _age(data)
    result = _check(world, storage)
    assert _by_kind(result) == {
        ("missing", "wait"): [lfn(2)],
        ("orphan", "delete"): ["/store/data/Proc/AOD/dark.root"],
    }
    assert not (data / "store/data/Proc/AOD/dark.root").exists()
