"""The server SIGKILLed at random moments while Detox cycles run and commit (the demo grid
with the real Physics policy, one site above its high watermark): after each restart the
database is consistent. No cycle is left planned; a committed cycle has its log entry and its
queued deletions and its log entry (a cycle that deleted nothing commits no log entry), and
every queued deletion's block replica was handed to the null group in the same commit; an
abandoned cycle queued nothing; the server loads and serves again.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import httpx
from cycle_checks import assert_detox_consistent
from demo_server import kill, start_server, wait_for, wait_ready
from sqlalchemy import select

from contract.storage.storage_servers import free_port
from dynamo.demo.config import Cadence, write_config
from dynamo.demo.grid import GridLayout, build_grid
from dynamo.store.engine import make_engine
from dynamo.store.schema.applications import app_runs

NEVER = (1e6, 1e6)
KILLS = 4


def test_sigkill_during_detox_cycles_leaves_a_consistent_database(tmp_path: Path) -> None:
    layout = GridLayout(tmp_path / "grid")
    grid = build_grid(layout, seed=7, with_files=False)
    port = free_port()
    cadence = Cadence(
        consistency=NEVER, detox=(1.0, 0.5), dealer=NEVER, fileops=NEVER, updater=NEVER
    )
    config = write_config(layout, grid.sites, port=port, cadence=cadence).server
    engine = make_engine(layout.db_url)
    rng = random.Random(11)
    log = tmp_path / "server.log"
    try:
        for _ in range(KILLS):
            server = start_server(config, log)
            try:
                wait_ready(port)
                seen = _detox_runs(engine)
                wait_for(lambda s=seen: _detox_runs(engine) > s, "a Detox run to start")
                time.sleep(rng.uniform(0.0, 2.5))
            finally:
                kill(server)
        server = start_server(config, log)  # the last restart: it abandons what was left planned
        try:
            wait_ready(port)
            status = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=5).json()
            assert status["counts"]["datasets"] > 0
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        assert_detox_consistent(engine)
    finally:
        engine.dispose()


def _detox_runs(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return len(conn.execute(select(app_runs.c.id).where(app_runs.c.app == "detox")).all())
