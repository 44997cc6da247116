"""Rucio on this machine, outside the project's dependencies (rucio-bench.md "Environment").

:class:`RucioPeer` makes (or reuses) a virtual environment with Rucio 41.5.1 in the cache
directory, starts memcached on a loopback port (Rucio silently turns its caches off without
it), creates a dedicated PostgreSQL database, writes ``rucio.cfg``, runs the Rucio-side scripts
(``rucio_scripts/*.py``, package data run by the venv's python) and serves Rucio's Flask REST
API under gunicorn (2 workers x 4 threads) on a loopback port. Everything it starts it stops
by PID.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx

from dynamo.bench.peer import processes
from dynamo.bench.serving import free_port
from dynamo.errors import ConfigurationError

__all__ = ["RUCIO_REQUIREMENTS", "RucioPeer", "cache_dir", "ensure_venv", "recreate_database"]

RUCIO_REQUIREMENTS = (
    "rucio==41.5.1",
    "rucio-clients==41.5.1",
    "psycopg[binary]",
    "gunicorn",
    "httpx",
)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
USERPASS = ("root", "ddmlab", "secret")


def cache_dir() -> Path:
    """``$DYNAMO_RUCIO_PEER_CACHE`` or ``~/.cache/dynamo-rucio-peer``."""
    found = os.environ.get("DYNAMO_RUCIO_PEER_CACHE")
    return Path(found) if found else Path.home() / ".cache" / "dynamo-rucio-peer"


def ensure_venv(cache: Path, *, timeout: float = 1800) -> Path:
    """The Rucio venv's python, made with pip on first use and reused afterwards."""
    python = cache / "venv" / "bin" / "python"
    probe = [str(python), "-c", "import rucio, gunicorn, psycopg, httpx"]
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker at a time (parallel test workers)
        if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
            return python
        base = getattr(sys, "_base_executable", sys.executable)
        _run([base, "-m", "venv", "--clear", str(cache / "venv")], timeout=300)
        _run([str(python), "-m", "pip", "install", "-q", *RUCIO_REQUIREMENTS], timeout=timeout)
    return python


def recreate_database(name: str, *, create: bool = True) -> str:
    """Drop and (unless not ``create``) create database ``name`` on 127.0.0.1:5432; its
    psycopg URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any driver error means: no usable PostgreSQL
        raise ConfigurationError(f"cannot create database {name!r}: {exc}") from exc
    finally:
        engine.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _run(command: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"{command[0]} failed: {exc}") from exc
    if done.returncode != 0:
        raise ConfigurationError(
            f"{' '.join(command[:3])} ... exited {done.returncode}: {done.stderr[-2000:]}"
        )
    return done.stdout


def _memcached_binary() -> str:
    found = shutil.which("memcached")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        _run(["apt-get", "install", "-y", "-q", "memcached"], timeout=600)
        found = shutil.which("memcached")
    if found is None:
        raise ConfigurationError("memcached is needed by Rucio: apt-get install memcached")
    return found


def _script(name: str) -> str:
    return str(files("dynamo.bench.peer") / "rucio_scripts" / name)


class RucioPeer:
    """A running Rucio: ``with RucioPeer(python, home) as rucio:``; the database is fresh."""

    def __init__(self, python: Path, home: Path, *, database: str = "rucio_peer") -> None:
        self.python, self.home, self.database = python, home, database
        self.memcached: subprocess.Popen[bytes] | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.memcached_port = free_port()
        self.port = 0
        self.url = ""

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> RucioPeer:
        try:
            command = [_memcached_binary(), "-l", "127.0.0.1", "-p", str(self.memcached_port)]
            command += ["-U", "0", "-m", "256"] + (["-u", "root"] if os.geteuid() == 0 else [])
            self.memcached = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            self.url = recreate_database(self.database)
            self._write_config()
            return self
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        for process in (self.server, self.memcached):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        self.server = self.memcached = None

    @property
    def env(self) -> dict[str, str]:
        config = self.home / "etc" / "rucio.cfg"
        return os.environ | {"RUCIO_HOME": str(self.home), "RUCIO_CONFIG": str(config)}

    def _write_config(self) -> None:
        etc = self.home / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        site = _run(
            [str(self.python), "-c", "import rucio, os; print(os.path.dirname(rucio.__file__))"],
            timeout=120,
        ).strip()
        (etc / "alembic.ini").write_text(
            "[alembic]\n"
            f"script_location = {site}/db/sqla/migrate_repo\n"
            f"sqlalchemy.url = {self.url}\n"
            "[loggers]\nkeys = root\n[handlers]\nkeys = console\n[formatters]\nkeys = plain\n"
            "[logger_root]\nlevel = WARNING\nhandlers = console\n"
            "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nformatter = plain\n"
            "[formatter_plain]\nformat = %%(levelname)s %%(message)s\n"
        )
        account, user, password = USERPASS
        (etc / "rucio.cfg").write_text(
            "[common]\nloglevel = WARNING\n"
            f"logdir = {self.home}\n"
            "[database]\n"
            f"default = {self.url}\npool_size = 20\n"
            "[alembic]\n"
            f"cfg = {etc / 'alembic.ini'}\n"
            "[policy]\npermission = generic\nschema = generic\n"
            "lfn2pfn_algorithm_default = hash\n"
            "[bootstrap]\n"
            f"userpass_identity = {user}\nuserpass_pwd = {password}\n"
            "userpass_email = root@localhost\n"
            "[cache]\n"
            f"url = 127.0.0.1:{self.memcached_port}\n"
            "[client]\n"
            "rucio_host = http://127.0.0.1\nauth_host = http://127.0.0.1\n"
            f"auth_type = userpass\naccount = {account}\n"
            f"username = {user}\npassword = {password}\n"
        )

    # ----------------------------------------------------------------- scripts
    def run(self, script: str, *args: str, timeout: float = 7200) -> dict[str, Any]:
        """Run ``rucio_scripts/<script>`` with the venv's python; its JSON answer."""
        out = _run([str(self.python), _script(script), *args], timeout=timeout, env=self.env)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise ConfigurationError(f"{script} printed no result: {out[-500:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    # ----------------------------------------------------------------- REST server
    def serve(self, *, workers: int = 2, threads: int = 4) -> str:
        """Start gunicorn with Rucio's Flask app; the base URL once it answers."""
        self.port = free_port()
        gunicorn = str(self.python.parent / "gunicorn")
        command = [gunicorn, "-b", f"127.0.0.1:{self.port}", "-w", str(workers)]
        command += ["-k", "gthread", "--threads", str(threads), "--log-level", "warning"]
        command.append("rucio.web.rest.flaskapi.v1.main:application")
        self.server = subprocess.Popen(
            command,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise ConfigurationError(f"gunicorn exited with code {self.server.returncode}")
            try:
                if httpx.get(f"{base}/ping", timeout=5).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ConfigurationError("Rucio's REST server did not answer in 120 s")

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
        self.server = None

    def token(self) -> str:
        account, user, password = USERPASS
        answer = httpx.get(
            f"http://127.0.0.1:{self.port}/auth/userpass",
            headers={
                "X-Rucio-Account": account,
                "X-Rucio-Username": user,
                "X-Rucio-Password": password,
            },
            timeout=30,
        )
        if answer.status_code != 200:
            raise ConfigurationError(f"Rucio auth failed: {answer.status_code} {answer.text[:200]}")
        return answer.headers["X-Rucio-Auth-Token"]

    def rss_bytes(self) -> int:
        """Resident memory of gunicorn's master and workers (from /proc)."""
        return 0 if self.server is None else processes.rss_bytes(self.server.pid)

    def cpu_seconds(self) -> float:
        """CPU time gunicorn's master and workers have used so far (not PostgreSQL's)."""
        return 0.0 if self.server is None else processes.cpu_seconds(self.server.pid)
