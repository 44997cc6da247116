"""A destination whose disk fills up (ENOSPC, a real tmpfs of a few pages): the copies that fit
are done, the others fail with ENOSPC and leave no partial file; once there is room, the
retried transfers complete. Nothing is registered that is not on the disk.

Mounting a tmpfs needs root (CAP_SYS_ADMIN), which the CI machine has; without it the test is
skipped and says so.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe
from dynamo.fileops.worker import PART_MARKER, Worker, WorkerOptions
from dynamo.store.schema.fileops import fileop_history

from .manager_world import World, content, lfn, make_world
from .test_worker_recovery import NOW, cycle

FILES = 10


def _mount(where: Path, size: str, *, remount: bool = False) -> None:
    options = f"remount,size={size}" if remount else f"size={size}"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if remount:
            pytest.fail(f"remounting {where} failed: {done.stderr}")
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    made = make_world(sqlite_url, tmp_path / "sites", num_files=FILES, holders=("A",))
    destination = made.root / "DST"
    _mount(destination, "24k")
    try:
        yield made
    finally:
        made.store.close()
        subprocess.run(["umount", "-l", str(destination)], check=False)


def _work(world: World) -> None:
    Worker(world.engine, world.endpoints, WorkerOptions(worker_id="w", parallel=1)).run(once=True)


def _finished(world: World) -> list[tuple[str, str, int | None]]:
    h = fileop_history.c
    with world.engine.connect() as conn:
        rows = conn.execute(select(h.lfn, h.status, h.exit_code).where(h.kind == "transfer"))
        return [(row.lfn, row.status, row.exit_code) for row in rows]


def test_a_full_disk_fails_cleanly_and_the_transfers_complete_when_there_is_room(
    world: World,
) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
    cycle(world)
    _work(world)
    cycle(world, NOW + 10)
    first = _finished(world)
    done = {name for name, status, _ in first if status == "done"}
    failed = [code for _, status, code in first if status == "failed"]
    assert done, "some copies fit"
    assert failed, "some copies do not fit"
    assert set(failed) == {errno.ENOSPC}
    destination = world.root / "DST"
    assert not [p for p in destination.rglob("*") if PART_MARKER in p.name], "partial files"
    for index in range(FILES):
        path = world.site_file("DST", index)
        if lfn(index) in done:
            assert path.read_bytes() == content(index)
    _mount(destination, "1m", remount=True)
    for step in range(1, 6):
        _work(world)
        cycle(world, NOW + 10 + 10 * step)
        if all(status == "done" for status in world.statuses().values()):
            break
    assert set(world.statuses().values()) == {"done"}
    for index in range(FILES):
        assert world.site_file("DST", index).read_bytes() == content(index)
