"""Serving an ASGI app on a loopback port for benchmarks and tests."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from dynamo.errors import ConfigurationError

__all__ = ["ThreadServer", "free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ThreadServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port from a thread, for a ``with`` block.

    ``with ThreadServer(app) as url:`` gives ``http://127.0.0.1:PORT`` once the server
    accepts connections, and stops it on exit.
    """

    def __init__(self, app: Any, *, start_timeout: float = 30.0) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.start_timeout = start_timeout

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise ConfigurationError(f"the server did not start in {self.start_timeout} s")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
