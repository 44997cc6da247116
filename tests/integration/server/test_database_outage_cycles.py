"""The database refuses connections and drops the open ones (a TCP proxy in front of the real
PostgreSQL or MariaDB, tests/faults.py) at random moments while the server runs Detox and
Dealer cycles every second (the demo grid, built in that database; one site above its high
watermark, a job feed that gives the Dealer copies to place): no cycle is half-committed, and
once the database is back the next scheduled Detox and Dealer runs succeed without help; a
cycle whose commit an outage failed is marked abandoned when the server leads again.

A cycle committed with its work has its log entry and all of its queue rows (Detox: its
deletions, each replica handed to the null group; Dealer: its transfer subscriptions and new
replicas); a cycle that did not commit left no queue row.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cycle_checks import (
    assert_dealer_consistent,
    assert_detox_consistent,
    planned_cycles_of_finished_runs,
)
from demo_server import start_server, wait_for, wait_ready
from sqlalchemy import Engine, func, make_url, select

from contract.storage.storage_servers import free_port
from dynamo.demo.config import Cadence, write_config
from dynamo.demo.grid import GridLayout, build_grid
from dynamo.demo.jobs import HOT_TICKS, SyntheticJobs
from dynamo.store.engine import make_engine
from dynamo.store.schema.applications import app_runs
from faults import TcpProxy

NEVER = (1e6, 1e6)
OUTAGES = 3
MAX_OUTAGES = 8
"""Outages go on past OUTAGES until one has hit a cycle (a quiet machine's cycles are short
enough for a few to fall between runs), at most this many."""
OUTAGE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _Layout(GridLayout):
    """The demo grid's files under ``root``, its database at ``url``."""

    url: str = ""

    @property
    def db_url(self) -> str:
        return self.url


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_database_outages_mid_cycle_never_half_commit_and_the_next_runs_succeed(
    backend: str, database_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    url = database_url_factory(backend)
    real = make_url(url)
    grid = build_grid(_Layout(tmp_path / "grid", url=url), seed=7, with_files=False)
    engine = make_engine(url)
    jobs = SyntheticJobs(engine, tmp_path / "grid" / "jobs.json")
    for _ in range(HOT_TICKS):
        jobs.tick(int(time.time()))
    rng = random.Random(3)
    port = free_port()
    cadence = Cadence(
        consistency=NEVER, detox=(1.0, 0.5), dealer=(1.0, 0.7), fileops=NEVER, updater=NEVER
    )
    try:
        with TcpProxy(
            real.host or "127.0.0.1", real.port or (5432 if backend == "postgresql" else 3306)
        ) as proxy:
            through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
            layout = _Layout(tmp_path / "grid", url=through)
            config = write_config(layout, grid.sites, port=port, cadence=cadence).server
            server = start_server(config, tmp_path / "server.log")
            try:
                wait_ready(port)
                for outage in range(MAX_OUTAGES):
                    if outage >= OUTAGES and _failed_runs(engine):
                        break
                    seen = _runs(engine)
                    wait_for(lambda s=seen: _runs(engine) > s, "a Detox or Dealer run to start")
                    time.sleep(rng.uniform(0.0, 1.5))
                    proxy.cut()
                    time.sleep(OUTAGE_SECONDS)
                    proxy.restore()
                    wait_ready(port)
                    assert server.poll() is None, "the server died during the outage"
                back = int(time.time()) + 1
                for app in ("detox", "dealer"):
                    wait_for(
                        lambda a=app: _succeeded_since(engine, a, back),
                        f"a {app} run to succeed after the outages",
                        limit=60,
                    )
                assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).is_success
                wait_for(  # a cycle whose commit an outage failed is abandoned, not left planned
                    lambda: not planned_cycles_of_finished_runs(engine),
                    "no cycle planned by a finished run",
                    limit=20,
                )
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(60)
        failed = _failed_runs(engine)
        assert failed, "no run failed: did an outage hit a cycle?"
        assert_detox_consistent(engine, allow_planned=True)
        assert_dealer_consistent(engine, allow_planned=True)
    finally:
        engine.dispose()


def _runs(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(app_runs)
                .where(app_runs.c.app.in_(["detox", "dealer"]))
            ).scalar_one()
        )


def _succeeded_since(engine: Engine, app: str, since: int) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                select(func.count())
                .select_from(app_runs)
                .where(
                    app_runs.c.app == app,
                    app_runs.c.status == "done",
                    app_runs.c.started >= since,
                )
            ).scalar_one()
        )


def _failed_runs(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (app, error or "")
            for app, error in conn.execute(
                select(app_runs.c.app, app_runs.c.error).where(app_runs.c.status != "done")
            )
        ]
