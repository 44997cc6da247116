"""The standalone file-operation worker: claims batches, moves and deletes files, reports.

A loop (:meth:`Worker.run`): claim a batch (:func:`.standalone.claim_batch`), run its tasks
on ``parallel`` threads while a heartbeat thread keeps the claim alive, mark the batch done;
sleep ``poll_interval`` when the queue is empty. ``once``: stop when the queue is empty.
A stop request (SIGTERM/SIGINT in the CLI) lets running tasks finish, starts no new ones and
gives the batch back.

Per task:

- transfer: stage first when the batch's source is tape (one ``request_stage`` for the batch,
  polled until every file is online or failed); then :func:`dynamo.storage.copy_file` with the
  subscription's adler32 and ``overwrite``: the adapters write to a temporary name and rename,
  so a failed or mismatching copy leaves nothing. When the batch was reclaimed from a dead
  worker, its leftover temporary files are removed first;
- deletion: ``delete``; a file already absent counts as done.

On SQLite only one worker may run (:class:`SqliteWorkerLock`, a lock file beside the DB).

When the database fails (restarting, refusing connections), the worker logs it and tries again
with a growing delay (up to ``MAX_RETRY_DELAY``); a batch it could not finish is taken over by
whoever claims it after ``stale_after`` (copies are to temporary names, so a repeat is safe).
With ``once``, a database failure ends the run with a StoreError.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import posixpath
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import ConfigurationError, StoreError
from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.errors import UNKNOWN_ERRNO, errno_from_message, errno_of_storage_error
from dynamo.fileops.ports import OpKind, TaskResult, TaskStatus
from dynamo.fileops.standalone import (
    ClaimedBatch,
    WorkTask,
    claim_batch,
    finish_batch,
    finish_task,
    heartbeat,
    mark_tasks,
    release_batch,
    start_task,
)
from dynamo.storage import (
    PART_MARKER,
    StorageBackend,
    StorageError,
    StorageNotFound,
    copy_file,
)
from dynamo.store.sqlops import driver_message

__all__ = ["PART_MARKER", "SqliteWorkerLock", "Worker", "WorkerOptions"]

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 60.0
"""Seconds: the longest wait between two tries at a failing database."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerOptions:
    """``stale_after``: seconds without heartbeat after which another worker takes a batch."""

    worker_id: str
    parallel: int = 4
    poll_interval: float = 5.0
    heartbeat_interval: float = 10.0
    stale_after: int = 120
    stage_timeout: float = 36_000.0
    stage_poll_interval: float = 1.0


class SqliteWorkerLock:
    """An exclusive lock file beside a SQLite database: one worker per database."""

    def __init__(self, database_path: str) -> None:
        self.path = f"{database_path}.fileops-worker.lock"
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ConfigurationError(
                f"another file-operations worker holds {self.path}: SQLite allows one worker "
                "per database (use PostgreSQL or MariaDB for more)"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _epoch() -> int:
    return int(time.time())


class Worker:
    """See the module docstring."""

    def __init__(
        self,
        engine: Engine,
        endpoints: Endpoints,
        options: WorkerOptions,
        *,
        stop: threading.Event | None = None,
        clock: Callable[[], int] = _epoch,
    ) -> None:
        self.engine = engine
        self.endpoints = endpoints
        self.options = options
        self.stop = stop or threading.Event()
        self._clock = clock
        self.tasks_done = 0
        self.tasks_failed = 0

    def run(self, *, once: bool = False) -> int:
        """Work until stopped (or, with ``once``, until the queue is empty); returns the
        number of batches handled. Database failures are retried (module docstring)."""
        handled = 0
        failures = 0
        while not self.stop.is_set():
            try:
                batch = claim_batch(
                    self.engine,
                    self.options.worker_id,
                    now=self._clock(),
                    stale_after=self.options.stale_after,
                )
                if batch is None:
                    if once:
                        break
                    self.stop.wait(self.options.poll_interval)
                    continue
                self.run_batch(batch)
                handled += 1
                failures = 0
            except SQLAlchemyError as exc:
                if once:
                    raise StoreError(f"the database failed: {driver_message(exc)}") from exc
                failures += 1
                delay = min(MAX_RETRY_DELAY, max(0.1, self.options.poll_interval) * 2**failures)
                log.warning(
                    "%s: the database failed (%s); trying again in %.1f s",
                    self.options.worker_id,
                    driver_message(exc),
                    delay,
                )
                self.stop.wait(delay)
        return handled

    def run_batch(self, batch: ClaimedBatch) -> None:
        """Run every task of a claimed batch, then mark it done (or give it back)."""
        log.info(
            "%s: batch %d: %d %s tasks%s",
            self.options.worker_id,
            batch.batch_id,
            len(batch.tasks),
            batch.kind,
            " (reclaimed)" if batch.is_reclaimed else "",
        )
        done_beating = threading.Event()
        beater = threading.Thread(
            target=self._beat, args=(batch.batch_id, done_beating), daemon=True
        )
        beater.start()
        try:
            tasks = list(batch.tasks)
            if batch.is_staging and batch.kind is OpKind.TRANSFER:
                tasks = self._stage(batch, tasks)
            with ThreadPoolExecutor(max_workers=max(1, self.options.parallel)) as pool:
                list(pool.map(lambda task: self._run_task(batch, task), tasks))
        finally:
            done_beating.set()
            beater.join()
        now = self._clock()
        if self.stop.is_set():
            release_batch(self.engine, batch.batch_id, self.options.worker_id, now=now)
        else:
            finish_batch(self.engine, batch.batch_id, self.options.worker_id, now=now)

    def _beat(self, batch_id: int, finished: threading.Event) -> None:
        while not finished.wait(self.options.heartbeat_interval):
            try:
                alive = heartbeat(self.engine, batch_id, self.options.worker_id, now=self._clock())
            except SQLAlchemyError as exc:
                log.warning("%s: heartbeat of batch %d failed: %s", self.options.worker_id,
                            batch_id, driver_message(exc))  # fmt: skip
                continue
            if not alive:
                log.warning("%s: lost batch %d", self.options.worker_id, batch_id)
                return

    def _run_task(self, batch: ClaimedBatch, task: WorkTask) -> None:
        if self.stop.is_set():
            return
        started = self._clock()
        if not start_task(self.engine, task.task_id, now=started):
            return
        try:
            if task.kind is OpKind.TRANSFER:
                result = self._transfer(task, started, clean=batch.is_reclaimed)
            else:
                result = self._delete(task, started)
        except Exception as exc:
            log.exception("task %d failed unexpectedly", task.task_id)
            result = self._result(task, TaskStatus.FAILED, UNKNOWN_ERRNO, repr(exc), started)
        finish_task(self.engine, result)
        if result.status is TaskStatus.DONE:
            self.tasks_done += 1
        else:
            self.tasks_failed += 1

    def _result(
        self, task: WorkTask, status: TaskStatus, code: int, message: str, started: int
    ) -> TaskResult:
        return TaskResult(
            task_id=task.task_id,
            status=status,
            exit_code=code,
            message=message,
            started=started,
            finished=self._clock(),
        )

    def _storage(self, site: str) -> StorageBackend:
        try:
            return self.endpoints[site].storage
        except KeyError:
            raise StorageError(f"no storage endpoint is configured for site {site}") from None

    def _transfer(self, task: WorkTask, started: int, *, clean: bool) -> TaskResult:
        assert task.source_site is not None
        assert task.source_path is not None
        try:
            source = self._storage(task.source_site)
            target = self._storage(task.site)
            if clean:
                _remove_leftovers(target, task.path)
            copy_file(
                source,
                task.source_path,
                target,
                task.path,
                checksum=task.adler32 or None,
                overwrite=True,
            )
        except StorageError as exc:
            code = errno_of_storage_error(exc)
            log.info("task %d: %s failed: %s", task.task_id, task.lfn, exc)
            return self._result(task, TaskStatus.FAILED, code, str(exc), started)
        return self._result(task, TaskStatus.DONE, 0, "", started)

    def _delete(self, task: WorkTask, started: int) -> TaskResult:
        try:
            self._storage(task.site).delete(task.path)
        except StorageNotFound:
            return self._result(task, TaskStatus.DONE, 0, "already absent", started)
        except StorageError as exc:
            code = errno_of_storage_error(exc)
            return self._result(task, TaskStatus.FAILED, code, str(exc), started)
        return self._result(task, TaskStatus.DONE, 0, "", started)

    def _stage(self, batch: ClaimedBatch, tasks: Sequence[WorkTask]) -> list[WorkTask]:
        """Bring the batch's source files online; returns the tasks whose file is online
        (the others are reported failed)."""
        assert batch.source_site is not None
        by_path = {task.source_path: task for task in tasks if task.source_path is not None}
        started = self._clock()
        try:
            source = self._storage(batch.source_site)
            request = source.request_stage(list(by_path))
            mark_tasks(self.engine, [t.task_id for t in tasks], TaskStatus.STAGING)
            deadline = time.monotonic() + self.options.stage_timeout
            status = source.poll_stage(request)
            while not status.is_done and time.monotonic() < deadline and not self.stop.is_set():
                self.stop.wait(self.options.stage_poll_interval)
                status = source.poll_stage(request)
        except StorageError as exc:
            for task in tasks:
                result = self._result(
                    task, TaskStatus.FAILED, errno_of_storage_error(exc), str(exc), started
                )
                finish_task(self.engine, result)
            return []
        online = [by_path[p] for p in sorted(status.online) if p in by_path]
        mark_tasks(self.engine, [t.task_id for t in online], TaskStatus.STAGED)
        if self.stop.is_set():
            return online
        for path, task in by_path.items():
            if path in status.online:
                continue
            message = status.failed.get(path, "staging did not finish in time")
            code = errno_from_message(message, default=errno.ETIMEDOUT)
            finish_task(self.engine, self._result(task, TaskStatus.FAILED, code, message, started))
        return online


def _remove_leftovers(storage: StorageBackend, path: str) -> None:
    """Delete the temporary files a killed copy to ``path`` left behind."""
    directory = posixpath.dirname(path) or "/"
    prefix = path + PART_MARKER
    try:
        leftovers = [
            entry.path
            for entry in storage.walk(directory)
            if not entry.is_dir and entry.path.startswith(prefix)
        ]
    except StorageNotFound:
        return
    for leftover in leftovers:
        try:
            storage.delete(leftover)
            log.info("removed the partial copy %s", leftover)
        except StorageNotFound:
            pass
