"""A server whose database restarts under a stream of writes: it says it is not ready while
the database is away, never acknowledges a write it did not commit, takes the lead again by
itself when the database is back, and every acknowledged write is in the log exactly once.

The outage is a TCP proxy between the server and the real PostgreSQL or MariaDB that closes
every connection and refuses new ones for a few seconds (tests/faults.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cluster import Cluster, WriteStream, logged_dataset_counts, prepare_database, wait_until
from sqlalchemy import make_url

from faults import TcpProxy

OUTAGE_SECONDS = 4.0


@pytest.fixture(params=["postgresql", "mysql"])
def database(request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]) -> str:
    db = database_url_factory(request.param)
    prepare_database(db)
    return db


def test_a_server_rides_out_a_database_restart_under_writes(database: str, tmp_path: Path) -> None:
    real = make_url(database)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through = real.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        cluster = Cluster(through, tmp_path, failover_seconds=3.0)
        try:
            server = cluster.start(cluster.add("only"))
            wait_until("the server to lead", lambda: server.role() == "leader")
            with WriteStream([server], "Outage") as stream:
                stream.wait_for(20)
                proxy.cut()
                acked_before = len(stream.acked)
                wait_until(
                    "the server to say it is not ready",
                    lambda: httpx.get(server.url + "/readyz", timeout=5).status_code == 503,
                    timeout=20,
                )
                assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
                time.sleep(OUTAGE_SECONDS)
                proxy.restore()
                wait_until(
                    "the server to lead again",
                    lambda: server.role() == "leader",
                    timeout=60,
                )
                stream.wait_for(acked_before + 20, timeout=60)
            assert server.process is not None
            assert server.process.poll() is None, "the server died during the outage"
            assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200
        finally:
            cluster.close()
    counts = logged_dataset_counts(database)
    missing = [name for name in stream.acked if counts[name] != 1]
    assert not missing, f"acknowledged writes not logged exactly once: {missing[:5]}"
    assert stream.failed > 0, "the outage refused no write: was the database really cut?"
