"""Run one application in a forked child, on a copy-on-write snapshot of the inventory.

Parent (:meth:`ForkRunner.start`, on the event loop thread; the only ``os.fork`` of Dynamo):
flush stdio, ``gc.freeze()`` (the child's collector then leaves the inherited objects alone),
fork, ``gc.unfreeze()``. :meth:`ChildProcess.wait` watches the child through a pidfd and reads
its result pipe with ``loop.add_reader`` (never blocking the loop), enforces the time limit
(SIGTERM, then SIGKILL after ``kill_grace``) and reaps it.

Child (never returns; leaves with ``os._exit``): killed by the kernel if the server dies
(``PR_SET_PDEATHSIG``; its copy of the result pipe's read end closed, so a write to a dead
server fails instead of blocking), stdin from /dev/null, stdout and stderr to the
run's log file through a :class:`dynamo.redaction.RedactingWriter` (and redaction installed:
log records, tracebacks and prints reach the stored log without their secrets), default
SIGTERM, no asyncio wake-up fd (the loop's self-pipe is the parent's), listening sockets
closed, then the ``child_hooks`` (e.g. ``engine.dispose(close=False)`` so the parent's pooled
DB connections are forgotten, not closed; the child opens its own if it needs one). It never
touches the event loop. It runs the application and writes the msgpack :class:`AppResult` to
the pipe; exit 0 after a complete write, 1 after an exception.

Only a child that exits 0 with a complete, decodable result has a ``result``; whatever else
happens (exception, other exit code, signal, time limit, kill), the outcome has none.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import random
import signal
import socket
import stat
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from dynamo import redaction
from dynamo.model import Inventory
from dynamo.server.applications import AppContext, Application, AppResult

__all__ = ["ChildOutcome", "ChildProcess", "ForkRunner"]

log = logging.getLogger(__name__)

_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ChildOutcome:
    """How a child ended. ``exit_code`` is negative for a signal (as in subprocess)."""

    exit_code: int
    result: AppResult | None
    error: str | None
    timed_out: bool
    killed: bool


class ChildProcess:
    """A running child: :meth:`wait` for it once; :meth:`kill` it from the loop thread."""

    def __init__(
        self, pid: int, pipe_fd: int, log_path: Path, timeout: float | None, kill_grace: float
    ) -> None:
        self.pid = pid
        self.log_path = log_path
        self._pipe_fd = pipe_fd
        self._pidfd = os.pidfd_open(pid)
        self._timeout = timeout
        self._kill_grace = kill_grace
        self._data = bytearray()
        self._eof = False
        self._killed = False
        self._timed_out = False
        self._sigkill: asyncio.TimerHandle | None = None
        os.set_blocking(pipe_fd, False)

    def kill(self) -> None:
        """Ask the child to stop (SIGTERM, SIGKILL after the grace period); its result is void."""
        self._killed = True
        self._terminate()

    async def wait(self) -> ChildOutcome:
        """Wait for the child to end (at most the time limit plus the grace), reap it."""
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()
        loop.add_reader(self._pidfd, _resolve, exited)
        loop.add_reader(self._pipe_fd, self._read_available)
        try:
            try:
                await asyncio.wait_for(asyncio.shield(exited), self._timeout)
            except TimeoutError:
                self._timed_out = True
                self._terminate()
                await exited
        finally:
            loop.remove_reader(self._pidfd)
            loop.remove_reader(self._pipe_fd)
            if self._sigkill is not None:
                self._sigkill.cancel()
        self._read_available()  # what the child wrote before it exited
        _, status = os.waitpid(self.pid, 0)
        os.close(self._pidfd)
        os.close(self._pipe_fd)
        return self._outcome(os.waitstatus_to_exitcode(status))

    def _outcome(self, exit_code: int) -> ChildOutcome:
        void = self._killed or self._timed_out
        if exit_code != 0 or void:
            return ChildOutcome(exit_code, None, None, self._timed_out, self._killed)
        try:
            result = AppResult.from_msgpack(bytes(self._data))
        except ValueError as exc:
            return ChildOutcome(exit_code, None, f"unreadable result: {exc}", False, False)
        return ChildOutcome(exit_code, result, None, False, False)

    def _read_available(self) -> None:
        while not self._eof:
            try:
                chunk = os.read(self._pipe_fd, _READ_CHUNK)
            except BlockingIOError:
                return
            if not chunk:
                self._eof = True
                with contextlib.suppress(ValueError, RuntimeError):
                    asyncio.get_running_loop().remove_reader(self._pipe_fd)
                return
            self._data += chunk

    def _terminate(self) -> None:
        self._signal(signal.SIGTERM)
        if self._sigkill is None:
            loop = asyncio.get_running_loop()
            self._sigkill = loop.call_later(self._kill_grace, self._signal, signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            signal.pidfd_send_signal(self._pidfd, signum)


class ForkRunner:
    """Forks children that run applications; logs go to ``work_dir/runs/RUN_ID.log``."""

    def __init__(
        self,
        work_dir: Path,
        *,
        child_hooks: Sequence[Callable[[], None]] = (),
        kill_grace: float = 5.0,
    ) -> None:
        self.work_dir = work_dir
        self.child_hooks = tuple(child_hooks)
        self.kill_grace = kill_grace

    def log_path(self, run_id: int) -> Path:
        return self.work_dir / "runs" / f"{run_id}.log"

    def start(
        self,
        app: Application,
        *,
        inventory: Inventory,
        run_id: int,
        args: Mapping[str, Any],
        now: int,
        writes: bool,
        timeout: float | None,
        seed: int | None = None,
    ) -> ChildProcess:
        """Fork a child running ``app`` on ``inventory`` (OSError if the fork fails)."""
        path = self.log_path(run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        context = _ChildContext(app, inventory, run_id, dict(args), now, writes, seed)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        # A server that froze its image at load keeps it frozen: unfreezing would hand the
        # whole image back to the collector, whose full passes stall the event loop.
        was_frozen = gc.get_freeze_count() > 0
        gc.freeze()
        parent = os.getpid()
        try:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child leaves through os._exit
                os.close(read_fd)  # else a dead parent's pipe would still have a reader
                _die_with(parent)
                _child_main(context, log_fd, write_fd, self.child_hooks)
        finally:
            if not was_frozen:
                gc.unfreeze()  # the parent's objects are collectable again
            os.close(log_fd)
            os.close(write_fd)
        log.info("run %d: %s forked as pid %d (log %s)", run_id, app.name, pid, path)
        return ChildProcess(pid, read_fd, path, timeout, self.kill_grace)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(frozen=True, slots=True)
class _ChildContext:
    app: Application
    inventory: Inventory
    run_id: int
    args: dict[str, Any]
    now: int
    writes: bool
    seed: int | None


def _child_main(
    context: _ChildContext, log_fd: int, write_fd: int, hooks: Sequence[Callable[[], None]]
) -> None:  # pragma: no cover - runs in the child
    code = 1
    try:
        _isolate(log_fd, write_fd, hooks)
        logger = logging.getLogger(f"dynamo.app.{context.app.name}")
        logger.info("run %d: %s %s", context.run_id, context.app.name, context.args)
        ctx = AppContext(
            inventory=context.inventory,
            now=context.now,
            args=context.args,
            log=logger,
            random=random.Random(context.run_id if context.seed is None else context.seed),
            run_id=context.run_id,
            writes=context.writes,
        )
        result = context.app.run(ctx)
        blob = result.to_msgpack()
        _write_all(write_fd, blob)
        os.close(write_fd)
        logger.info(
            "run %d: %d operations, %d records; summary %s",
            context.run_id,
            len(result.changeset),
            len(result.records),
            result.summary,
        )
        code = 0
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:  # pragma: no cover - runs in the child
    """Have the kernel SIGKILL this child when the server that forked it dies (Linux): its
    result could not be delivered, and an orphan would go on holding what it inherited (the
    SQLite server lock, a blocked pipe). Exits at once if the parent is already gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _isolate(log_fd: int, write_fd: int, hooks: Sequence[Callable[[], None]]) -> None:
    """Detach the child from everything of the parent it must not use."""
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    # Fresh stream objects: the inherited ones may hold a buffer or a lock of another thread.
    sys.stdout, sys.stderr = _redacting(1), _redacting(2)
    redaction.install()  # inherited from a `dynamo` command, needed when embedded
    root = logging.getLogger()
    root.handlers = []
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    _close_listening_sockets(keep={0, 1, 2, write_fd})
    for hook in hooks:
        hook()


def _redacting(fd: int) -> TextIO:
    stream = open(fd, "w", buffering=1, closefd=False)  # noqa: SIM115
    return cast(TextIO, redaction.RedactingWriter(stream))  # a text stream, not a TextIO


def _close_listening_sockets(keep: set[int]) -> None:
    """Close inherited listening sockets, so a child never holds the server's port."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd in keep:
            continue
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            probe = socket.socket(fileno=fd)
            try:
                listening = probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            finally:
                probe.detach()
            if listening:
                os.close(fd)
        except OSError:
            continue


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)  # EPIPE if the parent is gone: the run fails
        view = view[written:]
