"""An FTS3 job that hangs (the FTS3 test double, :mod:`fts3_server`, stops moving its jobs):
the files FTS3 finished before it hung are collected as done; the others are cancelled at
FTS3 after ``job_timeout`` seconds, fail with ETIMEDOUT and are retried by the manager's
policy; nothing is taken as present that FTS3 did not verify, and once FTS3 works again the
retried transfers complete."""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

import pki
from dynamo.fileops.config import fileops_config_from
from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.fts3 import Fts3Backend
from dynamo.fileops.manager import CycleSummary, ManagerOptions, run_cycle
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe
from dynamo.store.schema.fileops import fileop_failures, fileop_history
from fts3_server import Fts3TestServer

from .manager_world import World, content, lfn, make_world

NOW = 1_700_000_000
TIMEOUT = 600
FILES = 4


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    made = make_world(sqlite_url, tmp_path / "sites", holders=("A",), num_files=FILES)
    endpoints = Endpoints({site: replace(e, backend="fts3") for site, e in made.endpoints.items()})
    yield replace(made, endpoints=endpoints)
    made.store.close()


def _cycle(world: World, backend: Fts3Backend, now: int) -> CycleSummary:
    options = ManagerOptions(seed=1, job_timeout=TIMEOUT)
    return run_cycle(
        world.engine, world.inventory, world.endpoints, {"fts3": backend}, now, options
    )


def _wait(condition: object, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def test_a_hanging_fts3_job_is_cancelled_after_the_timeout_and_retried(
    world: World, tmp_path: Path
) -> None:
    grid = pki.build_pki(tmp_path / "pki")
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
    storages = [e.storage for e in world.endpoints.values()]
    with Fts3TestServer(storages, grid, step=0.3) as server:
        backend = Fts3Backend.connect(
            server.url, cert=grid.proxies["alice"].cert_path, ca_dir=grid.ca_dir
        )
        try:
            assert _cycle(world, backend, NOW).tasks_submitted == FILES
            (job,) = server.runner.jobs.values()
            _wait(lambda: any(f.state == "FINISHED" for f in job.files), "a first copy")
            server.runner.paused.set()  # the job hangs from here on
            time.sleep(1.0)  # a step already under way ends
            with server.runner.lock:
                finished = [f.dest_surl or "" for f in job.files if f.state == "FINISHED"]
            hung = {lfn(i) for i in range(FILES) if not any(u.endswith(lfn(i)) for u in finished)}
            assert hung, "every copy finished before the job was made to hang"

            early = _cycle(world, backend, NOW + TIMEOUT - 1)
            assert early.timed_out == 0
            assert early.done == FILES - len(hung)
            statuses = world.statuses()
            for i in range(FILES):
                expected = "inbatch" if lfn(i) in hung else "done"
                assert statuses[("transfer", lfn(i), "DST")] == expected

            late = _cycle(world, backend, NOW + TIMEOUT + 1)
            assert late.timed_out == len(hung)
            with server.runner.lock:
                assert job.state == "FINISHEDDIRTY" or job.state == "CANCELED"
                assert {f.state for f in job.files if f.state != "FINISHED"} == {"CANCELED"}
            with world.engine.connect() as conn:
                failures = conn.execute(select(fileop_failures.c.exit_code)).scalars().all()
            assert failures == [errno.ETIMEDOUT] * len(hung)
            statuses = world.statuses()
            for i in range(FILES):
                if lfn(i) in hung:  # retried at once (new job), never taken as present
                    assert statuses[("transfer", lfn(i), "DST")] == "inbatch"
                    assert not world.site_file("DST", i).exists()
            assert len(server.runner.jobs) == 2

            server.runner.paused.clear()  # FTS3 works again
            now = NOW + TIMEOUT + 2
            while set(world.statuses().values()) != {"done"}:
                assert now < NOW + TIMEOUT + 2000, world.statuses()
                _cycle(world, backend, now)
                now += 1
                time.sleep(0.1)
        finally:
            backend.close()
    for i in range(FILES):
        assert world.site_file("DST", i).read_bytes() == content(i)
    with world.engine.connect() as conn:
        history = conn.execute(
            select(fileop_history.c.lfn, fileop_history.c.status, fileop_history.c.exit_code)
        ).all()
    assert sorted(row.lfn for row in history if row.status == "done") == [
        lfn(i) for i in range(FILES)
    ]
    assert {(row.lfn, row.exit_code) for row in history if row.status != "done"} == {
        (name, errno.ETIMEDOUT) for name in hung
    }


def test_job_timeout_is_read_from_the_configuration() -> None:
    config = fileops_config_from({"fileops": {"job_timeout": 3600}}, where="t", base=Path())
    assert config.manager.job_timeout == 3600
    assert ManagerOptions().job_timeout == 172_800
