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
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from contract.storage.storage_servers import free_port
from dynamo.demo.config import Cadence, write_config
from dynamo.demo.grid import GridLayout, build_grid
from dynamo.store.engine import make_engine
from dynamo.store.schema import block_replicas, blocks, datasets, inventory_log, sites
from dynamo.store.schema.applications import app_runs
from dynamo.store.schema.detox import detox_cycles, replica_deletions

NEVER = (1e6, 1e6)
KILLS = 4


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dynamo", "server", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(condition: object, what: str, limit: float = 90.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if condition():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def test_sigkill_during_detox_cycles_leaves_a_consistent_database(tmp_path: Path) -> None:
    layout = GridLayout(tmp_path / "grid")
    grid = build_grid(layout, seed=7)
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
            server = _start(config, log)
            try:
                _wait(
                    lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success,
                    "the server to be ready",
                )
                seen = _detox_runs(engine)
                _wait(lambda s=seen: _detox_runs(engine) > s, "a Detox run to start")
                time.sleep(rng.uniform(0.0, 2.5))
            finally:
                server.send_signal(signal.SIGKILL)
                server.wait()
        server = _start(config, log)  # the last restart: it abandons what was left planned
        try:
            _wait(
                lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success,
                "the server to be ready after the kills",
            )
            status = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=5).json()
            assert status["counts"]["datasets"] > 0
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        _assert_consistent(engine)
    finally:
        engine.dispose()


def _detox_runs(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return len(conn.execute(select(app_runs.c.id).where(app_runs.c.app == "detox")).all())


def _assert_consistent(engine: object) -> None:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        cycles = conn.execute(
            select(detox_cycles.c.id, detox_cycles.c.status, detox_cycles.c.log_seq)
        ).all()
        queued = conn.execute(
            select(
                replica_deletions.c.cycle_id,
                replica_deletions.c.dataset,
                replica_deletions.c.block,
                replica_deletions.c.site,
            )
        ).all()
        seqs = set(conn.execute(select(inventory_log.c.seq)).scalars())
        owners = {
            (dataset, block, site): group
            for dataset, block, site, group in conn.execute(
                select(datasets.c.name, blocks.c.name, sites.c.name, block_replicas.c.group_id)
                .select_from(block_replicas)
                .join(blocks, blocks.c.id == block_replicas.c.block_id)
                .join(datasets, datasets.c.id == blocks.c.dataset_id)
                .join(sites, sites.c.id == block_replicas.c.site_id)
            )
        }
    statuses = {status for _, status, _ in cycles}
    assert "planned" not in statuses, "a cycle was left planned after the restart"
    assert "committed" in statuses, "no cycle committed between the kills"
    committed = {cid for cid, status, _ in cycles if status == "committed"}
    with_deletions = {row.cycle_id for row in queued}
    assert with_deletions <= committed, "deletions of an uncommitted cycle"
    for cid, status, log_seq in cycles:
        if status == "committed" and cid in with_deletions:
            assert log_seq in seqs, f"cycle {cid} queued deletions without its log entry"
        if status == "committed" and log_seq is None:
            assert cid not in with_deletions, f"cycle {cid}: an empty commit queued deletions"
    assert queued, "the over-full site's cycles queued deletions"
    for row in queued:
        key = (row.dataset, row.block, row.site)
        assert key in owners, f"{key}: queued for deletion but the replica is gone"
        assert owners[key] is None, f"{key}: queued for deletion but still owned"
