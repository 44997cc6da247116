"""Real Dynamo servers for the authentication tests: ``dynamo server`` in a subprocess with TLS
(or behind a pretend front end), over a small SQLite inventory with registered users.

Each server listens on a free loopback port and is stopped through its Popen handle.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pki
from dynamo.api.auth import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.model import ChangeSet, SetQuota, UpsertPartition
from dynamo.policy import partition_compiler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import base_ops

__all__ = [
    "curl",
    "free_port",
    "make_database",
    "running_server",
    "wait_for_listener",
    "wait_for_port",
]


def curl(grid: pki.Pki, url: str, *args: str) -> tuple[int, Any]:
    """The status and decoded JSON body of ``curl ARGS URL`` trusting the test CA dir."""
    command = ["curl", "-sS", "--capath", str(grid.ca_dir), "-w", "\n%{http_code}", *args, url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), json.loads(body) if body else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def make_database(path: Path, grid: pki.Pki) -> str:
    """A migrated SQLite DB with the base inventory (without its partitions, written in the toy
    language the real server does not read); alice is operator on inventory, bob is a user
    without roles, carol is not registered."""
    url = f"sqlite:///{path}"
    store = SqlInventoryStore.open(url, upgrade=True)
    try:
        service = InventoryService.load(store, partition_compiler=partition_compiler())
        ops = [op for op in base_ops().ops if not isinstance(op, UpsertPartition | SetQuota)]
        store.commit(ChangeSet.of(ops), service.inventory)
        users = SqlUserDirectory(store.engine)
        users.add_user("alice", grid.users["alice"].dn)
        users.grant("alice", Role.OPERATOR, Target.INVENTORY)
        users.add_user("bob", grid.users["bob"].dn)
    finally:
        store.close()
    return url


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Return once ``port`` accepts connections; fail with the server's log if it died."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not listen on {port}:\n{log.read_text()}")


def wait_for_listener(is_started: Callable[[], bool], thread: threading.Thread) -> None:
    """Return once an in-process uvicorn server on ``thread`` has started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if is_started():
            return
        if not thread.is_alive():
            raise RuntimeError("the in-process server stopped before it started")
        time.sleep(0.02)
    raise RuntimeError("the in-process server did not start")


@contextmanager
def running_server(args: list[str], log: Path) -> Iterator[int]:
    """``dynamo server ARGS --host 127.0.0.1 --port P`` until the block ends; yields P."""
    port = free_port()
    command = [sys.executable, "-m", "dynamo.cli.main", "server", *args]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
