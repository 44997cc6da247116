"""Several real servers on one PostgreSQL or MariaDB database: a leader writes, followers tail
the log, and a follower takes over when the leader is killed or cut off from the database.

Each server is a ``dynamo server`` subprocess (failover bound 5 s, or
``$DYNAMO_TEST_FAILOVER_SECONDS`` for a manual run); the assertions are on what
every client saw: acknowledged writes present exactly once in the log and on every server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from cluster import (
    HEADER,
    WRITER_DN,
    Cluster,
    Server,
    WriteStream,
    cut_lease_session,
    logged_dataset_counts,
    pause_holding_the_fence,
    prepare_database,
    queue_inject,
    read_status,
    wait_until,
)

from dynamo.store.checkpoint import write_checkpoint
from dynamo.store.engine import make_engine

SHARED = ["postgresql", "mysql"]
DatabaseUrlFactory = Callable[[str], str]


@pytest.fixture(params=SHARED)
def cluster(
    request: pytest.FixtureRequest, database_url_factory: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[Cluster]:
    db = database_url_factory(request.param)
    prepare_database(db)
    servers = Cluster(db, tmp_path)
    try:
        yield servers
    finally:
        servers.close()


def _inject(server: Server, name: str) -> httpx.Response:
    return httpx.post(
        server.url + "/api/v1/inject",
        json={"datasets": [{"name": name}]},
        headers={HEADER: WRITER_DN},
        timeout=10,
    )


def _leader_and_follower(cluster: Cluster) -> tuple[Server, Server]:
    a = cluster.start(cluster.add("a"))
    wait_until("a to lead", lambda: a.role() == "leader")
    b = cluster.start(cluster.add("b"))
    wait_until("b to follow", lambda: b.role() == "follower")
    return a, b


def _assert_every_acked_write_once(
    cluster: Cluster, stream: WriteStream, servers: list[Server]
) -> None:
    counts = logged_dataset_counts(cluster.db)
    missing = [name for name in stream.acked if counts[name] != 1]
    assert not missing, f"acknowledged writes not logged exactly once: {missing[:5]}"
    total = len(counts)
    for server in servers:
        wait_until(
            f"{server.name} to hold all {total} datasets",
            lambda s=server: s.get("/status").json()["counts"]["datasets"] == total,
            timeout=10,
        )
        assert all(server.has_dataset(name) for name in stream.acked[-20:])


def test_a_write_through_the_leader_is_seen_on_a_follower_within_a_second(
    cluster: Cluster,
) -> None:
    a, b = _leader_and_follower(cluster)
    assert _inject(a, "/Seen/Quickly/RAW").status_code == 200
    seconds = wait_until("the follower to see it", lambda: b.has_dataset("/Seen/Quickly/RAW"), 5)
    print(f"visible on the follower after {seconds * 1000:.0f} ms")
    assert seconds < 1.0
    body = b.get("/servers").json()
    assert body["leader_url"] == a.url
    assert {s["name"]: s["role"] for s in body["servers"]} == {"a": "leader", "b": "follower"}


def test_a_write_sent_to_a_follower_is_redirected_to_the_leader(cluster: Cluster) -> None:
    a, b = _leader_and_follower(cluster)
    response = _inject(b, "/Sent/To/RAW")
    assert response.status_code == 307
    assert response.headers["location"] == a.url + "/api/v1/inject"
    assert response.json()["error"]["code"] == "not_leader"
    with httpx.Client(follow_redirects=True, headers={HEADER: WRITER_DN}) as http:
        followed = http.post(b.url + "/api/v1/inject", json={"datasets": [{"name": "/F/G/RAW"}]})
    assert followed.status_code == 200
    wait_until("the follower to apply it", lambda: b.has_dataset("/F/G/RAW"), 5)


def test_a_killed_leader_under_writes_is_replaced_and_returns_as_a_follower(
    cluster: Cluster,
) -> None:
    a, b = _leader_and_follower(cluster)
    with WriteStream([a, b], "Kill") as stream:
        stream.wait_for(30)
        a.kill()
        killed_at = time.monotonic()
        took = wait_until("b to lead", lambda: b.role() == "leader", cluster.failover_seconds)
        print(f"b leads {took:.2f} s after the leader was killed")
        before = len(stream.acked)
        stream.wait_for(before + 30)
        assert time.monotonic() - killed_at < 30
        cluster.start(a)
        wait_until("a to follow again", lambda: a.role() == "follower")
        stream.wait_for(len(stream.acked) + 10)
    _assert_every_acked_write_once(cluster, stream, [a, b])
    assert b.role() == "leader"


def test_a_hung_leader_is_replaced_and_commits_nothing_when_it_wakes(cluster: Cluster) -> None:
    a, b = _leader_and_follower(cluster)
    with WriteStream([a, b], "Hang") as stream:
        stream.wait_for(30)
        pause_holding_the_fence(a, cluster.db)  # SIGSTOP inside a write transaction
        with closing(queue_inject(a, "/Zombie/Write/RAW")) as zombie:  # read when a wakes
            took = wait_until(
                "b to lead", lambda: b.role() == "leader", cluster.failover_seconds + 10
            )
            print(f"b leads {took:.2f} s after the leader hung")
            stream.wait_for(len(stream.acked) + 30)
            a.resume()
            assert read_status(zombie) != 200
        wait_until("a to follow", lambda: a.role() == "follower", cluster.failover_seconds)
        stream.wait_for(len(stream.acked) + 10)
    _assert_every_acked_write_once(cluster, stream, [a, b])
    assert logged_dataset_counts(cluster.db)["/Zombie/Write/RAW"] == 0
    assert b.role() == "leader"


def test_a_leader_cut_off_from_the_database_steps_down(cluster: Cluster) -> None:
    a, b = _leader_and_follower(cluster)
    with WriteStream([a, b], "Cut") as stream:
        stream.wait_for(20)
        cut_lease_session(cluster.db)
        wait_until("b to lead", lambda: b.role() == "leader", cluster.failover_seconds)
        wait_until("a to follow", lambda: a.role() == "follower", cluster.failover_seconds)
        stream.wait_for(len(stream.acked) + 20)
    _assert_every_acked_write_once(cluster, stream, [a, b])
    response = _inject(a, "/After/Cut/RAW")
    assert response.status_code == 307
    assert response.headers["location"].startswith(b.url)


def test_a_joining_server_starts_from_a_checkpoint_and_applies_the_log_after_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    a = cluster.start(cluster.add("a"))
    wait_until("a to lead", lambda: a.role() == "leader")
    for number in range(3):
        assert _inject(a, f"/Before/C{number}/RAW").status_code == 200
    engine = make_engine(cluster.db)
    try:
        checkpoint = write_checkpoint(engine, tmp_path / "checkpoints")
    finally:
        engine.dispose()
    for number in range(4):
        assert _inject(a, f"/After/C{number}/RAW").status_code == 200
    b = cluster.add("b")
    cluster.start(b, extra=("--checkpoint-dir", str(tmp_path / "checkpoints")))
    wait_until("b to follow", lambda: b.role() == "follower")
    assert f"(seq {checkpoint.seq}, 4 entries behind the log)" in b.log.read_text()
    assert b.get("/status").json()["counts"]["datasets"] == 7
    body = b.get("/servers").json()
    views = {s["name"]: s for s in body["servers"]}
    assert views["b"]["role"] == "follower"
    assert views["b"]["log_seq"] == body["log_head"]
    assert views["b"]["lag"] == 0
    assert views["a"]["role"] == "leader"


def test_a_second_server_on_a_sqlite_database_is_refused(
    database_url_factory: DatabaseUrlFactory, tmp_path: Path
) -> None:
    db = database_url_factory("sqlite")
    prepare_database(db)
    cluster = Cluster(db, tmp_path)
    try:
        first = cluster.start(cluster.add("first"))
        assert first.role() == "leader"
        second = cluster.start(cluster.add("second"), wait=False)
        assert second.process is not None
        assert second.process.wait(timeout=60) != 0
        assert "SQLite allows one server" in second.log.read_text()
    finally:
        cluster.close()
