"""The file-operations manager driving the FTS3 backend: subscriptions in the database become
FTS3 jobs on the test double (:mod:`fts3_server`), and their results come back as done rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import insert, select

import pki
from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.fts3 import Fts3Backend
from dynamo.fileops.manager import ManagerOptions, run_cycle
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe
from dynamo.store.schema.detox import replica_deletions
from dynamo.store.schema.fileops import fileop_history
from fts3_server import Fts3TestServer

from .manager_world import BLOCK, DS, World, content, make_world

NOW = 1_700_000_000


@pytest.fixture
def grid(tmp_path: Path) -> pki.Pki:
    return pki.build_pki(tmp_path / "pki")


def _fts3_world(world: World) -> World:
    endpoints = Endpoints({site: replace(e, backend="fts3") for site, e in world.endpoints.items()})
    return replace(world, endpoints=endpoints)


def _settle(world: World, backend: Fts3Backend, timeout: float = 60.0) -> None:
    """Run manager cycles until no subscription is waiting for the backend."""
    deadline = time.monotonic() + timeout
    now = NOW
    while time.monotonic() < deadline:
        run_cycle(
            world.engine,
            world.inventory,
            world.endpoints,
            {"fts3": backend},
            now,
            ManagerOptions(seed=1),
        )
        now += 1
        if set(world.statuses().values()) <= {"done", "held", "cancelled"}:
            return
        time.sleep(0.05)
    raise AssertionError(f"the queue did not settle: {world.statuses()}")


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    made = _fts3_world(make_world(sqlite_url, tmp_path / "sites", tape_delay=0.2))
    yield made
    made.store.close()


def _server(world: World, grid: pki.Pki) -> Fts3TestServer:
    return Fts3TestServer([e.storage for e in world.endpoints.values()], grid)


def test_the_manager_copies_and_deletes_through_fts3(world: World, grid: pki.Pki) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
        conn.execute(
            insert(replica_deletions).values(
                dataset=DS, block=BLOCK, site="B", size=1, status="new", created=NOW, updated=NOW
            )
        )
    proxy = grid.proxies["alice"].cert_path
    with _server(world, grid) as server:
        backend = Fts3Backend.connect(server.url, cert=proxy, ca_dir=grid.ca_dir)
        try:
            _settle(world, backend)
        finally:
            backend.close()
    for index in range(len(world.refs)):
        assert world.site_file("DST", index).read_bytes() == content(index)
        assert not world.site_file("B", index).exists()
    assert set(world.statuses().values()) == {"done"}
    with world.engine.connect() as conn:
        history = conn.execute(select(fileop_history.c.backend, fileop_history.c.status)).all()
    # every operation went through FTS3 and ended done; on a loaded machine the test double
    # has failed a job now and then (seen once in CI-like runs), which the manager retried
    assert {backend for backend, _ in history} == {"fts3"}
    assert sum(status == "done" for _, status in history) == 2 * len(world.refs)
    assert {status for _, status in history} <= {"done", "failed"}
    jobs = list(server.runner.jobs.values())
    assert {job.kind for job in jobs} == {"delete", "transfer"}  # a transfer job per source
    assert "FINISHED" in {job.state for job in jobs}


def test_a_tape_source_is_staged_by_fts3_before_the_copy(
    sqlite_url: str, tmp_path: Path, grid: pki.Pki
) -> None:
    world = _fts3_world(
        make_world(sqlite_url, tmp_path / "sites", holders=("T_MSS",), tape_delay=0.2)
    )
    try:
        with world.engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
        proxy = grid.proxies["alice"].cert_path
        with _server(world, grid) as server:
            backend = Fts3Backend.connect(server.url, cert=proxy, ca_dir=grid.ca_dir)
            try:
                _settle(world, backend)
            finally:
                backend.close()
            jobs = list(server.runner.jobs.values())
        for index in range(len(world.refs)):
            assert world.site_file("DST", index).read_bytes() == content(index)
        assert set(world.statuses().values()) == {"done"}
        assert jobs
        assert {job.state for job in jobs} == {"FINISHED"}
        assert all(job.params["bring_online"] > 0 for job in jobs)
        assert all(f.stage is not None for job in jobs for f in job.files)
    finally:
        world.store.close()
