"""Workers that die, compete or fail: nothing is lost, claimed twice or left half-written."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from dynamo.errors import ConfigurationError
from dynamo.fileops.endpoints import Endpoint
from dynamo.fileops.manager import ManagerOptions, run_cycle
from dynamo.fileops.ports import OpKind
from dynamo.fileops.sources import Candidate, choose_source
from dynamo.fileops.standalone import StandaloneBackend, claim_batch, finish_batch
from dynamo.fileops.subscriptions import subscribe
from dynamo.fileops.worker import SqliteWorkerLock, Worker, WorkerOptions
from dynamo.store.engine import make_engine
from dynamo.store.schema.fileops import fileop_failures, fileop_tasks

from .manager_world import World, config_text, content, lfn, make_world

NOW = 1_700_000_000


def cycle(world: World, now: int = NOW, *, batch_size: int = 1000, seed: int = 0) -> None:
    backend = StandaloneBackend(world.engine, clock=lambda: now)
    run_cycle(
        world.engine,
        world.inventory,
        world.endpoints,
        {"standalone": backend},
        now,
        ManagerOptions(batch_size=batch_size, seed=seed),
    )


def worker_command(world: World, config: Path, worker_id: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dynamo.cli.main",
        "fileops",
        "worker",
        "--db",
        world.url,
        "--config",
        str(config),
        "--id",
        worker_id,
        "--once",
        "--parallel",
        "1",
        *extra,
    ]


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


def partial_files(world: World) -> list[Path]:
    return [p for p in (world.root / "DST").rglob("*") if ".dynamo-part-" in p.name]


@pytest.fixture(params=["sqlite", "postgresql"])
def fifo_world(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str], tmp_path: Path
) -> Iterator[World]:
    made = make_world(database_url_factory(request.param), tmp_path / "sites", holders=("A",))
    yield made
    made.store.close()


def test_a_worker_killed_mid_transfer_loses_nothing_and_leaves_no_partial_file(
    fifo_world: World, tmp_path: Path
) -> None:
    world = fifo_world
    source = world.site_file("A", 0)
    source.unlink()
    os.mkfifo(source)  # the copy blocks half-way, until the test kills the worker
    data = content(0)
    release = threading.Event()

    def feed_half() -> None:
        with contextlib.suppress(BrokenPipeError), open(source, "wb") as pipe:
            pipe.write(data[: len(data) // 2])
            pipe.flush()
            release.wait(120)
            with contextlib.suppress(BrokenPipeError):  # the reader is dead
                pipe.close()

    feeder = threading.Thread(target=feed_half, daemon=True)
    feeder.start()
    config = tmp_path / "fileops.toml"
    config.write_text(config_text(world))
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs[:1], origin="operator", now=NOW)
    cycle(world)
    victim = subprocess.Popen(
        worker_command(world, config, "victim"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: bool(partial_files(world)), "the copy's temporary file")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        release.set()
    feeder.join(10)
    with world.engine.connect() as conn:
        assert conn.execute(select(fileop_tasks.c.status)).scalars().all() == ["active"]
    assert partial_files(world)
    source.unlink()
    source.write_bytes(data)
    rescue = subprocess.run(
        worker_command(world, config, "rescuer", "--stale-after", "0"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rescue.returncode == 0, rescue.stderr
    cycle(world, NOW + 1)
    assert world.statuses()[("transfer", lfn(0), "DST")] == "done"
    assert world.site_file("DST", 0).read_bytes() == data
    assert partial_files(world) == []


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_two_workers_never_claim_the_same_batch(
    backend: str, database_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    world = make_world(database_url_factory(backend), tmp_path / "sites", num_files=24)
    try:
        with world.engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
        cycle(world, batch_size=1)
        claims: dict[str, list[int]] = {"w1": [], "w2": []}
        start = threading.Barrier(2)

        def claim_all(worker_id: str) -> None:
            engine = make_engine(world.url)
            try:
                start.wait()
                while (
                    batch := claim_batch(engine, worker_id, now=NOW, stale_after=3600)
                ) is not None:
                    claims[worker_id].append(batch.batch_id)
                    time.sleep(0.01)  # hold the claim a while, as a real copy would
                    finish_batch(engine, batch.batch_id, worker_id, now=NOW)
            finally:
                engine.dispose()

        threads = [threading.Thread(target=claim_all, args=(w,)) for w in claims]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        everything = claims["w1"] + claims["w2"]
        assert len(everything) == 24
        assert len(set(everything)) == 24
    finally:
        world.store.close()


def test_sqlite_refuses_a_second_worker(sqlite_url: str, tmp_path: Path) -> None:
    world = make_world(sqlite_url, tmp_path / "sites")
    try:
        database = str(world.engine.url.database)
        first = SqliteWorkerLock(database)
        first.acquire()
        try:
            with pytest.raises(ConfigurationError, match="SQLite allows one worker"):
                SqliteWorkerLock(database).acquire()
            config = tmp_path / "fileops.toml"
            config.write_text(config_text(world))
            second = subprocess.run(
                worker_command(world, config, "second"),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert second.returncode == 2
            assert "SQLite allows one worker" in second.stderr
        finally:
            first.release()
        again = SqliteWorkerLock(database)
        again.acquire()  # the lock is free once its holder lets go
        again.release()
    finally:
        world.store.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_retryable_failure_is_retried_at_another_source(sqlite_url: str, tmp_path: Path) -> None:
    world = make_world(sqlite_url, tmp_path / "sites", holders=("A", "B"))
    try:
        # A answers nothing: connection refused, a retryable failure
        world.endpoints._by_site["A"] = Endpoint(site="A", url=f"http://127.0.0.1:{closed_port()}/")
        seed = next(
            s
            for s in range(100)
            if choose_source([Candidate("A"), Candidate("B")], {}, random.Random(s ^ NOW)).site
            == "A"
        )
        with world.engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, "DST", world.refs[:1], origin="operator", now=NOW)
        worker = Worker(world.engine, world.endpoints, WorkerOptions(worker_id="w", parallel=1))
        for _ in range(3):
            cycle(world, NOW, seed=seed)
            worker.run(once=True)
        cycle(world, NOW, seed=seed)
        with world.engine.connect() as conn:
            failures = conn.execute(
                select(fileop_failures.c.source_site, fileop_failures.c.exit_code)
            ).all()
        assert failures == [("A", errno.ECONNREFUSED)]
        assert world.statuses()[("transfer", lfn(0), "DST")] == "done"
        assert world.site_file("DST", 0).read_bytes() == content(0)
    finally:
        world.store.close()


def test_a_worker_stops_cleanly_on_sigterm(sqlite_url: str, tmp_path: Path) -> None:
    world = make_world(sqlite_url, tmp_path / "sites")
    try:
        config = tmp_path / "fileops.toml"
        config.write_text(config_text(world))
        command = [c for c in worker_command(world, config, "idle") if c != "--once"]
        worker = subprocess.Popen(
            [*command, "--poll-interval", "0.2"], stderr=subprocess.PIPE, text=True
        )
        lock = Path(f"{world.engine.url.database}.fileops-worker.lock")
        try:
            wait_for(lambda: lock.exists() and lock.read_text().strip() != "", "the worker's lock")
            worker.send_signal(signal.SIGTERM)
            _, stderr = worker.communicate(timeout=60)
        finally:
            if worker.poll() is None:  # pragma: no cover - only when the test fails
                worker.kill()
                worker.wait()
        assert worker.returncode == 0, stderr
        assert "idle: 0 batches" in stderr
    finally:
        world.store.close()
