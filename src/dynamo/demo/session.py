"""One demo run: the grid, the server and a file-operations worker as processes, synthetic jobs,
and the events they produce, until the duration is over or the user interrupts.

The server (``dynamo server --config DIR/demo.toml``) loads the inventory, serves the API and
the pages on plain HTTP on loopback, and schedules every application; the worker
(``dynamo fileops worker``) copies and deletes files between the site directories. Both write
their logs under ``DIR/logs``. This process runs the jobs and reads the database to report.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import httpx

from dynamo.demo.config import DemoFiles, write_config
from dynamo.demo.grid import GridLayout, GridReport, build_grid
from dynamo.demo.jobs import SyntheticJobs, request_a_copy
from dynamo.demo.users import UserJobError, UserJobs, register_users
from dynamo.demo.watch import Event, Summary, Watcher, short_name, summarize
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.store.engine import make_engine

__all__ = ["DemoError", "DemoOptions", "DemoSession", "grid_report"]

READY_TIMEOUT = 90.0
STOP_GRACE = 10.0
JOB_PERIOD = 4.0
POLL_PERIOD = 1.0


class DemoError(DynamoError):
    """A demo process failed; the message names its log."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    directory: Path
    port: int = 8080
    seed: int = 1
    fresh: bool = False
    duration: float | None = None


def grid_report(layout: GridLayout) -> GridReport | None:
    """The report saved beside a grid built earlier, or None."""
    saved = layout.root / "grid.json"
    if not layout.db_path.exists() or not saved.exists():
        return None
    data = json.loads(saved.read_text())
    return GridReport(
        sites=data["sites"],
        files_written=data["files_written"],
        bytes_written=data["bytes_written"],
        missing=tuple(data["missing"]),
        orphan=tuple(data["orphan"]),
        seconds=data["seconds"],
    )


@dataclass(slots=True)
class DemoSession:
    """See the module docstring."""

    options: DemoOptions
    layout: GridLayout
    grid: GridReport
    files: DemoFiles
    resumed: bool

    @classmethod
    def prepare(
        cls,
        options: DemoOptions,
        *,
        build: Callable[[GridLayout], GridReport] | None = None,
    ) -> DemoSession:
        """Build the grid (or reuse the one in ``options.directory``) and write the config."""
        layout = GridLayout(options.directory.resolve())
        _check_port(options.port)
        grid = None if options.fresh else grid_report(layout)
        resumed = grid is not None
        if grid is None:
            grid = (build or (lambda where: build_grid(where, seed=options.seed)))(layout)
            (layout.root / "grid.json").write_text(json.dumps(asdict(grid), indent=2) + "\n")
        files = write_config(layout, grid.sites, port=options.port)
        register_users(layout.db_url)
        return cls(options=options, layout=layout, grid=grid, files=files, resumed=resumed)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.options.port}"

    def run(self, on_event: Callable[[Event], None], on_ready: Callable[[], None]) -> Summary:
        """Start the processes, report events until the duration is over (or Ctrl-C), stop
        the processes, and return the summary."""
        started = time.time()
        engine = make_engine(self.layout.db_url)
        try:
            watcher = Watcher(engine)
            jobs = SyntheticJobs(engine, self.files.job_feed, seed=self.options.seed)
            roomy = sorted(site for site, role in self.grid.sites.items() if role == "disk")
            users = UserJobs(self.url, roomy[:2], seed=self.options.seed)
            with self._processes() as alive:
                on_ready()
                made = request_a_copy(self.layout.db_url, seed=self.options.seed, now=int(started))
                if made is not None:
                    on_event(
                        Event(
                            "request",
                            f"{made.user} asks for a copy of {short_name(made.items[0])} at "
                            f"{made.sites[0]} (request {made.id})",
                            "bold",
                        )
                    )
                deadline = (
                    None if self.options.duration is None else started + self.options.duration
                )
                next_jobs = 0.0
                try:
                    while deadline is None or time.time() < deadline:
                        alive()
                        if time.time() >= next_jobs:
                            jobs.tick(int(time.time()))
                            for event in self._user_jobs(users):
                                on_event(event)
                            next_jobs = time.time() + JOB_PERIOD
                        for event in watcher.poll():
                            on_event(event)
                        time.sleep(POLL_PERIOD)
                except KeyboardInterrupt:
                    on_event(Event("demo", "interrupted: stopping the server and the worker"))
            for event in watcher.poll():
                on_event(event)
            return summarize(
                engine, since=int(started), seconds=time.time() - started, jobs_run=jobs.jobs_run
            )
        finally:
            engine.dispose()

    @staticmethod
    def _user_jobs(users: UserJobs) -> list[Event]:
        try:
            return users.tick()
        except (UserJobError, httpx.HTTPError) as exc:
            users.done = True
            return [Event("userdata", f"user jobs stopped: {exc}", "red")]

    @contextmanager
    def _processes(self) -> Iterator[Callable[[], None]]:
        logs = self.layout.root / "logs"
        logs.mkdir(exist_ok=True)
        toml = str(self.files.server)
        with ExitStack() as stack:
            server = stack.enter_context(
                _process("server", ["server", "--config", toml], logs / "server.log")
            )
            self._wait_ready(server, logs / "server.log")
            worker = stack.enter_context(
                _process(
                    "worker",
                    ["fileops", "worker", "--db", self.layout.db_url, "--config", toml],
                    logs / "worker.log",
                )
            )

            def alive() -> None:
                for name, process, log in (
                    ("server", server, logs / "server.log"),
                    ("worker", worker, logs / "worker.log"),
                ):
                    if process.poll() is not None:
                        raise DemoError(
                            f"the {name} stopped (exit code {process.returncode}):\n"
                            f"{_tail(log)}\n(whole log: {log})"
                        )

            yield alive

    def _wait_ready(self, server: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise DemoError(
                    f"the server did not start (exit code {server.returncode}):\n{_tail(log)}"
                    f"\n(whole log: {log})"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/status", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise DemoError(f"the server did not answer within {READY_TIMEOUT:.0f} s (log: {log})")


@contextmanager
def _process(name: str, args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m dynamo ARGS`` with output to ``log``, stopped (TERM, then KILL) on exit."""
    handle: IO[bytes] = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "dynamo", *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        _stop(process)
        handle.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _check_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigurationError(
                f"port {port} on 127.0.0.1 is taken ({exc.strerror}): is a demo already "
                "running? Give another with --port"
            ) from exc
