"""A ``dynamo server`` process on a demo grid, for the tests that SIGKILL it: start it, wait
for it, kill it by PID."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

__all__ = ["kill", "start_server", "wait_for", "wait_ready"]


def start_server(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``dynamo server --config CONFIG``, its output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dynamo", "server", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition: Callable[[], object], what: str, limit: float = 90.0) -> None:
    """Poll ``condition`` (HTTP and OS errors count as not yet) until it is true."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def wait_ready(port: int) -> None:
    wait_for(
        lambda: httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success,
        "the server to be ready",
    )


def kill(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGKILL)
    server.wait()
