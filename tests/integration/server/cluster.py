"""Several real ``dynamo server`` processes on one database, for the replication tests.

Each server listens on its own free loopback port, logs to a file, trusts the client DN in a
header (so the tests can write without TLS) and is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dynamo.api.auth import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.model import UpsertDataset
from dynamo.store import SqlInventoryStore
from dynamo.store.engine import make_engine
from dynamo.store.schema.servers import leadership
from integration.api.tls_servers import free_port, wait_for_port

__all__ = [
    "HEADER",
    "WRITER_DN",
    "Cluster",
    "Server",
    "WriteStream",
    "cut_lease_session",
    "logged_dataset_counts",
    "pause_holding_the_fence",
    "prepare_database",
    "queue_inject",
    "read_status",
    "wait_until",
]

HEADER = "X-SSL-Client-S-DN"
WRITER_DN = "/DC=org/DC=example/CN=writer"


def prepare_database(url: str) -> None:
    """Migrate ``url`` and register the writer (operator on the inventory)."""
    store = SqlInventoryStore.open(url, upgrade=True)
    try:
        users = SqlUserDirectory(store.engine)
        users.add_user("writer", WRITER_DN)
        users.grant("writer", Role.OPERATOR, Target.INVENTORY)
    finally:
        store.close()


def wait_until(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> float:
    """Poll ``condition`` until true; returns the seconds it took (AssertionError on timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if condition():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Server:
    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + "/api/v1" + path, timeout=5)

    def role(self) -> str:
        body = self.get("/servers").json()
        return str(next(s["role"] for s in body["servers"] if s["is_self"]))

    def has_dataset(self, name: str) -> bool:
        return self.get("/datasets/" + name).status_code == 200

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: the process hangs, its sockets and database sessions stay open."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)  # a paused server cannot handle SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Cluster:
    """Starts servers on ``db`` under ``root``; :meth:`close` stops every one it started."""

    db: str
    root: Path
    failover_seconds: float = float(os.environ.get("DYNAMO_TEST_FAILOVER_SECONDS", "5"))
    servers: list[Server] = field(default_factory=list)

    def add(self, name: str) -> Server:
        server = Server(name, free_port(), self.root / f"{name}.log")
        self.servers.append(server)
        return server

    def start(self, server: Server, *, wait: bool = True, extra: tuple[str, ...] = ()) -> Server:
        command = [
            *(sys.executable, "-m", "dynamo.cli.main", "server", "--db", self.db),
            *("--allow-http", "--trusted-dn-header", HEADER, "--name", server.name),
            *("--host", "127.0.0.1", "--port", str(server.port)),
            *("--failover-seconds", str(self.failover_seconds)),
            *extra,
        ]
        with server.log.open("ab") as out:
            server.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        if wait:
            wait_for_port(server.port, server.process, server.log)
        return server

    def close(self) -> None:
        for server in self.servers:
            server.stop()


def cut_lease_session(db: str) -> int:
    """End the database session holding the leader lease (a network cut); returns its id."""
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            session = int(conn.execute(select(leadership.c.db_session)).scalar_one())
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"SELECT pg_terminate_backend({session})"))
            else:
                conn.execute(text(f"KILL CONNECTION {session}"))
    finally:
        engine.dispose()
    return session


def pause_holding_the_fence(server: Server, db: str, attempts: int = 500) -> None:
    """SIGSTOP ``server`` (the leader, under writes) at a moment it is inside a write
    transaction: holding the lock of the ``leadership`` row its epoch fence takes."""
    engine = make_engine(db)
    try:
        for _ in range(attempts):
            server.pause()
            with engine.connect() as conn:
                try:
                    conn.execute(select(leadership.c.epoch).with_for_update(nowait=True)).all()
                except DBAPIError:
                    return  # the row is locked by the paused leader's open transaction
                finally:
                    conn.rollback()
            server.resume()
            time.sleep(random.uniform(0, 0.01))
    finally:
        engine.dispose()
    raise AssertionError(f"{server.name} was never caught inside a write transaction")


def queue_inject(server: Server, name: str) -> socket.socket:
    """Send an inject of dataset ``name`` to ``server`` without waiting for the answer (a
    paused server gets it when it resumes); read the answer with :func:`read_status`."""
    body = json.dumps({"datasets": [{"name": name}]}).encode()
    head = (
        f"POST /api/v1/inject HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"{HEADER}: {WRITER_DN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(head.encode() + body)
    return sock


def read_status(sock: socket.socket, timeout: float = 30.0) -> int:
    """The HTTP status of the answer on ``sock`` (0 if the server closed without answering)."""
    sock.settimeout(timeout)
    try:
        line = sock.makefile("rb").readline()
    finally:
        sock.close()
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 else 0


def logged_dataset_counts(db: str) -> Counter[str]:
    """How many times each dataset was upserted in ``inventory_log``."""
    store = SqlInventoryStore.open(db)
    try:
        return Counter(
            op.name
            for _, changeset in store.read_log()
            for op in changeset.ops
            if isinstance(op, UpsertDataset)
        )
    finally:
        store.close()


class WriteStream:
    """A thread injecting one new dataset per request into whichever server answers.

    A write is *acknowledged* when a server answered 200; any other outcome (refused
    connection, redirect to a dead leader, 503 while no leader is known, a connection lost
    mid-request) leaves it unacknowledged, and the name is never retried.
    """

    def __init__(self, servers: list[Server], prefix: str) -> None:
        self.servers = servers
        self.prefix = prefix
        self.acked: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WriteStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_for(self, acks: int, timeout: float = 30.0) -> None:
        wait_until(f"{acks} acknowledged writes", lambda: len(self.acked) >= acks, timeout)

    def _run(self) -> None:
        number, target = 0, 0
        with httpx.Client(follow_redirects=True, timeout=5, headers={HEADER: WRITER_DN}) as http:
            while not self._stop.is_set():
                number += 1
                name = f"/{self.prefix}/N{number}/RAW"
                server = self.servers[target % len(self.servers)]
                try:
                    response = http.post(
                        server.url + "/api/v1/inject", json={"datasets": [{"name": name}]}
                    )
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code == 200:
                    self.acked.append(name)
                    continue
                self.failed += 1
                target += 1
                time.sleep(0.05)
