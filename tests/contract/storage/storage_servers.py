"""Storage servers for the contract suite, started on 127.0.0.1 at free high ports.

Each server runs as a child process in its own session with its data under a fresh temporary
directory, and is stopped by PID. Under pytest-xdist every worker starts its own servers, so
ports and directories never collide. XRootD refuses to run as root: it runs with ``-R nobody``
from a directory tree that nobody may write.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "Server",
    "ServerStartError",
    "free_port",
    "kill_server",
    "restart_server",
    "start_moto",
    "start_named",
    "start_wsgidav",
    "start_xrootd",
]

XRDCP = shutil.which("xrdcp") or "/usr/bin/xrdcp"
VENV_BIN = Path(sys.executable).parent


class ServerStartError(RuntimeError):
    """A test server did not come up; the message holds the tail of its log."""


@dataclass
class Server:
    """A running test server: its process, ports, data directory and log file."""

    name: str
    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    workdir: Path
    data: Path
    log: Path
    extra: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    """The command line that started it (``restart_server`` runs it again)."""

    def stop(self) -> None:
        """Terminate the process by PID, kill it if it lingers, and remove its directory."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(server: Server, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    tail = server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""
    server.stop()
    raise ServerStartError(f"{server.name} did not listen on 127.0.0.1:{port}:\n{tail}")


def _workdir(name: str) -> Path:
    # Not under pytest's tmp dirs: those are mode 0700 and XRootD runs as nobody.
    workdir = Path(tempfile.mkdtemp(prefix=f"dynamo-{name}-"))
    workdir.chmod(0o755)
    return workdir


def _spawn(name: str, argv: list[str], workdir: Path, log: Path) -> subprocess.Popen[bytes]:
    if not shutil.which(argv[0]) and not Path(argv[0]).exists():
        shutil.rmtree(workdir, ignore_errors=True)
        raise ServerStartError(f"{name}: {argv[0]} is not installed")
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_xrootd(*, http: bool = True) -> Server:
    """Debian's xrootd serving root:// (and XrdHttp plain http) with adler32 and root TPC."""
    workdir = _workdir("xrootd")
    data, admin = workdir / "data", workdir / "admin"
    for directory in (data, admin):
        directory.mkdir()
        directory.chmod(0o777)
    ports = {"root": free_port()}
    lines = [
        "all.export /",
        f"xrd.port {ports['root']}",
        f"oss.localroot {data}",
        f"all.adminpath {admin}",
        f"all.pidpath {admin}",
        "xrootd.chksum adler32",
        f"ofs.tpc ttl 60 60 xfr 4 pgm {XRDCP} --server -f",
    ]
    if http:
        ports["http"] = free_port()
        lines.append(f"xrd.protocol XrdHttp:{ports['http']} libXrdHttp.so")
    config = workdir / "xrootd.cfg"
    config.write_text("\n".join(lines) + "\n")
    log = admin / "xrootd.log"
    argv = ["xrootd", "-c", str(config), "-l", str(log), "-R", "nobody"]
    process = _spawn("xrootd", argv, workdir, workdir / "stdout.log")
    server = Server("xrootd", process, ports, workdir, data, log, argv=argv)
    for port in ports.values():
        _wait_for_port(server, port)
    return server


def start_moto() -> Server:
    """``moto_server`` (an S3 look-alike) on a free port."""
    workdir = _workdir("moto")
    port = free_port()
    log = workdir / "moto.log"
    argv = [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    process = _spawn("moto_server", argv, workdir, log)
    server = Server("moto", process, {"http": port}, workdir, workdir, log)
    _wait_for_port(server, port)
    return server


def start_wsgidav() -> Server:
    """wsgidav + cheroot serving a directory over plain http, anonymous read-write."""
    workdir = _workdir("wsgidav")
    data = workdir / "data"
    data.mkdir()
    port = free_port()
    log = workdir / "wsgidav.log"
    argv = [
        str(VENV_BIN / "wsgidav"),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--root", str(data),
        "--auth", "anonymous",
        "--server", "cheroot",
        "-q",
    ]  # fmt: skip
    process = _spawn("wsgidav", argv, workdir, log)
    server = Server("wsgidav", process, {"http": port}, workdir, data, log, argv=argv)
    _wait_for_port(server, port)
    return server


def start_named(name: str) -> Server:
    """``xrootd`` (root:// only) or ``wsgidav``: for tests parametrized by server."""
    return start_xrootd(http=False) if name == "xrootd" else start_wsgidav()


def kill_server(server: Server) -> None:
    """SIGKILL the server (by PID) and reap it; its data stay."""
    server.process.kill()
    server.process.wait(timeout=10)


def restart_server(server: Server) -> None:
    """Start a killed server again with the same command line, ports and data."""
    assert server.argv, f"{server.name} cannot be restarted"
    server.process = _spawn(
        server.name, server.argv, server.workdir, server.workdir / "restart.log"
    )
    for port in server.ports.values():
        _wait_for_port(server, port)


def environment_skips_servers() -> bool:
    """True when ``DYNAMO_TEST_SKIP_SERVERS=1`` turns a server that cannot start into a skip."""
    return os.environ.get("DYNAMO_TEST_SKIP_SERVERS") == "1"


def serve(start: Callable[[], Server]) -> Iterator[Server]:
    """A fixture body: the server ``start`` makes, stopped after; a server that cannot start
    fails the test, or skips it with ``DYNAMO_TEST_SKIP_SERVERS=1``."""
    try:
        server = start()
    except ServerStartError as exc:
        if environment_skips_servers():
            pytest.skip(f"DYNAMO_TEST_SKIP_SERVERS=1 and {exc}")
        raise
    yield server
    server.stop()
