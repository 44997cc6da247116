"""A worker whose database goes away (refuses connections, drops them) keeps running, says so
in its log, and finishes its work when the database is back; nothing is lost or done twice."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, select

from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe
from dynamo.fileops.worker import Worker, WorkerOptions
from dynamo.store.engine import make_engine
from dynamo.store.schema.fileops import fileop_tasks
from faults import TcpProxy

from .manager_world import World, content, lfn, make_world
from .test_worker_recovery import NOW, cycle


@pytest.fixture(params=["postgresql", "mysql"])
def world(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str], tmp_path: Path
) -> Iterator[World]:
    made = make_world(database_url_factory(request.param), tmp_path / "sites", holders=("A",))
    yield made
    made.store.close()


def _through(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


def _wait(condition: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_worker_rides_out_a_database_outage(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with world.engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "DST", world.refs, origin="operator", now=NOW)
    cycle(world)
    real = make_url(world.url)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        proxy.cut()  # the database refuses connections when the worker starts
        engine = make_engine(_through(proxy, world.url))
        options = WorkerOptions(worker_id="survivor", parallel=2, poll_interval=0.05)
        worker = Worker(engine, world.endpoints, options)
        with caplog.at_level(logging.WARNING, logger="dynamo.fileops.worker"):
            runner = threading.Thread(target=worker.run, daemon=True)
            runner.start()
            _wait(lambda: "the database failed" in caplog.text, "the worker to notice")
            time.sleep(0.5)
            assert runner.is_alive()
            with world.engine.connect() as conn:
                assert set(conn.execute(select(fileop_tasks.c.status)).scalars()) == {"new"}
            proxy.restore()

            def all_done() -> bool:
                with world.engine.connect() as conn:
                    statuses = conn.execute(select(fileop_tasks.c.status)).scalars().all()
                return bool(statuses) and set(statuses) == {"done"}

            _wait(all_done, "the tasks to be done after the outage")
            worker.stop.set()
            runner.join(30)
        engine.dispose()
    assert not runner.is_alive()
    assert worker.tasks_done == len(world.refs)
    for index in range(len(world.refs)):
        assert world.site_file("DST", index).read_bytes() == content(index)
    cycle(world, NOW + 1)
    assert {world.statuses()[("transfer", lfn(i), "DST")] for i in range(len(world.refs))} == {
        "done"
    }
