"""The scheduler: queues, starts, watches and records application runs; commits write results.

It lives on the server's event loop (:meth:`Scheduler.start` / :meth:`Scheduler.stop` from the
application's lifespan). Runs come from the API (:meth:`submit`), from ``[[scheduler.interval]]``
entries and from sequence files; :func:`dynamo.server.schedule.admit` decides which queued run
starts: one write run at a time, at most ``max_readers`` read runs.

A run ends ``done`` only when its child exited 0 with a readable result. Then, for a write run,
its ChangeSet goes through :meth:`InventoryService.commit` (the single write path) and its
records to the record sink; a read run's ChangeSet and records are discarded (a write
application run read-only is a dry run). Any other ending (``failed``, ``killed``, ``timeout``)
commits nothing. Every state change is saved in the RunStore, so history survives restarts;
runs left unfinished by a previous server are marked failed at start.

Schedules naming an application that is not registered are not fatal: each becomes a
:class:`ConfigurationError` in ``Scheduler.driver.problems`` (logged at start), and that sequence
or interval does not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine

from dynamo.consistency import ConsistencyConfig
from dynamo.dealer import COMMIT_RECORD as DEALER_RECORD
from dynamo.dealer import DealerConfig
from dynamo.dealer import abandon_planned as abandon_planned_dealer
from dynamo.dealer import commit_records as commit_dealer_records
from dynamo.detox import COMMIT_RECORD, DetoxConfig, commit_records
from dynamo.detox.history import abandon_planned
from dynamo.errors import ConfigurationError, DynamoError, NotFoundError
from dynamo.fileops.config import FileOpsConfig
from dynamo.fileops.updater import UPDATE_RECORD, apply_update_records
from dynamo.server.applications import (
    Application,
    ApplicationNotAuthorizedError,
    ApplicationRegistry,
    AppResult,
    RunStateError,
)
from dynamo.server.builtin_apps import builtin_registry
from dynamo.server.consistency_app import ConsistencyApp
from dynamo.server.dealer_app import DealerApp
from dynamo.server.detox_app import DetoxApp
from dynamo.server.fileops_app import UpdaterApp
from dynamo.server.fileops_manager_app import FileOpsManagerApp
from dynamo.server.runner import ChildOutcome, ChildProcess, ForkRunner
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.server.schedule import Pending, admit
from dynamo.server.schedules import ScheduleDriver, ScheduleView
from dynamo.server.service import InventoryService
from dynamo.server.sync_app import SyncApp
from dynamo.store import SideWrite, SqlInventoryStore, make_engine
from dynamo.store.appruns import AppRun, RunMode, RunStatus, RunStore, SqlRunStore
from dynamo.store.synced import SYNC_RECORD, write_synced_records

__all__ = ["RecordSink", "ScheduleView", "Scheduler", "build_scheduler"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

RecordSink = Callable[[AppRun, list[dict[str, Any]]], SideWrite]
"""Turns the records of a write run into writes made inside its commit's transaction (history,
queues): the ChangeSet and the records are kept together or not at all."""


@dataclass(slots=True)
class _Active:
    run: AppRun
    child: ChildProcess
    task: asyncio.Task[None]


class Scheduler:
    """See the module docstring. All methods run on the event loop thread."""

    def __init__(
        self,
        service: InventoryService,
        registry: ApplicationRegistry,
        runs: RunStore,
        runner: ForkRunner,
        config: SchedulerConfig,
        *,
        record_sink: RecordSink | None = None,
        clock: Callable[[], float] = time.time,
        cleanups: Sequence[Callable[[int], object]] = (),
    ) -> None:
        self.service = service
        self.cleanups = tuple(cleanups)
        self.registry = registry
        self.runs = runs
        self.runner = runner
        self.config = config
        self.record_sink = record_sink
        self.clock = clock
        self._queue: deque[AppRun] = deque()
        self._active: dict[int, _Active] = {}
        self._finished: dict[int, asyncio.Event] = {}
        self._watchers: dict[int, Callable[[AppRun], None]] = {}
        self.driver = ScheduleDriver(config, registry, clock)
        self._loop_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Mark stale runs failed, run the ``cleanups`` (each with the epoch time: what runs
        that can no longer commit left, e.g. planned Detox and Dealer cycles), load the
        schedules and start the scheduling loop. Called each time this server starts to lead:
        after a restart, a failover, or a database outage that cost it the lead."""
        now = int(self.clock())
        stale = await self._store(self.runs.abandon_unfinished, now, "the server restarted")
        if stale:
            log.warning("marked %d unfinished runs of a previous server as failed", stale)
        for cleanup in self.cleanups:
            await asyncio.to_thread(cleanup, now)
        self.driver.load(now)
        for problem in self.driver.problems:
            log.error("scheduler: %s", problem)
        self._loop_task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop scheduling, kill the running children and fail the queued runs."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        while self._queue:
            run = self._queue.popleft()
            await self._finish(run, RunStatus.KILLED, error="the server stopped")
        for active in list(self._active.values()):
            active.child.kill()
        tasks = [a.task for a in self._active.values()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ requests

    async def submit(
        self,
        name: str,
        *,
        args: Mapping[str, Any] | None = None,
        timeout: int | None = None,
        writes: bool | None = None,
        user_dn: str | None = None,
        source: str = "api",
        authorized: bool = False,
    ) -> AppRun:
        """Queue a run of application ``name``; write mode by default for a write application.

        A write run needs ``authorized`` (the server's own schedules) or an authorisation of
        ``user_dn`` for ``name``: otherwise the run is recorded ``authfailed`` and
        ApplicationNotAuthorizedError raised. UnknownApplicationError for an unknown name.
        """
        app = self.registry.get(name)
        writes = app.writes if writes is None else writes
        if writes and not app.writes:
            raise ConfigurationError(
                f"application {name!r} is read-only; it cannot run in write mode"
            )
        run = await self._store(
            self.runs.add,
            AppRun(
                app=name,
                mode=RunMode.WRITE if writes else RunMode.READ,
                status=RunStatus.NEW,
                user_dn=user_dn,
                source=source,
                args=dict(args or {}),
                timeout=self._timeout(timeout),
                submitted=int(self.clock()),
            ),
        )
        run = dataclasses.replace(run, log_path=str(self.runner.log_path(run.id)))
        self._finished[run.id] = asyncio.Event()
        if writes and not authorized:
            allowed = await self._store(self.runs.is_authorized, name, user_dn)
            if not allowed:
                await self._finish(
                    run, RunStatus.AUTHFAILED, error=f"{user_dn} may not run {name} in write mode"
                )
                raise ApplicationNotAuthorizedError(
                    f"{user_dn or 'anonymous'} is not authorised to run {name!r} in write mode "
                    f"(dynamo app authorize {name} --dn DN); run {run.id} recorded as authfailed"
                )
        run = dataclasses.replace(run, status=RunStatus.QUEUED)
        await self._store(self.runs.update, run)
        self._queue.append(run)
        self._dispatch()
        return run

    def _timeout(self, timeout: int | None) -> int | None:
        """Seconds of the time limit: the default when None; 0 means none."""
        seconds = self.config.default_timeout if timeout is None else timeout
        return seconds if seconds > 0 else None

    async def kill(self, run_id: int) -> AppRun:
        """Kill a queued or running run; RunStateError if it already ended."""
        for queued in self._queue:
            if queued.id == run_id:
                self._queue.remove(queued)
                return await self._finish(
                    queued, RunStatus.KILLED, error="killed before it started"
                )
        active = self._active.get(run_id)
        if active is not None:
            active.child.kill()
            await self.wait(run_id)
            return await self.get(run_id)
        run = await self.get(run_id)
        raise RunStateError(f"run {run_id} already ended ({run.status})")

    async def get(self, run_id: int) -> AppRun:
        run = await self._store(self.runs.get, run_id)
        if run is None:
            raise NotFoundError(f"no application run {run_id}")
        return run

    async def list_runs(
        self, *, app: str | None = None, status: RunStatus | None = None, limit: int = 100
    ) -> list[AppRun]:
        return await self._store(self.runs.find, app=app, status=status, limit=limit)

    async def wait(self, run_id: int, timeout: float | None = None) -> AppRun:
        """The run once it has ended (TimeoutError after ``timeout`` seconds)."""
        event = self._finished.get(run_id)
        if event is not None:
            await asyncio.wait_for(event.wait(), timeout)
        return await self.get(run_id)

    def schedules(self) -> list[ScheduleView]:
        """The configured schedules, their state, and the problems that disabled some."""
        return self.driver.views()

    # ------------------------------------------------------------------ running

    def _dispatch(self) -> None:
        readers = sum(1 for a in self._active.values() if a.run.mode is RunMode.READ)
        writer = any(a.run.mode is RunMode.WRITE for a in self._active.values())
        chosen = admit(
            (Pending(r.id, r.mode is RunMode.WRITE) for r in self._queue),
            readers_running=readers,
            writer_running=writer,
            max_readers=self.config.max_readers,
        )
        for pending in chosen:
            run = next(r for r in self._queue if r.id == pending.run_id)
            self._queue.remove(run)
            self._launch(run)

    def _launch(self, run: AppRun) -> None:
        app = self.registry.get(run.app)
        now = int(self.clock())
        try:
            child = self.runner.start(
                app,
                inventory=self.service.inventory,
                run_id=run.id,
                args=run.args,
                now=now,
                writes=run.mode is RunMode.WRITE,
                timeout=run.timeout,
            )
        except OSError as exc:
            log.error("run %d: cannot fork %s: %s", run.id, run.app, exc)
            asyncio.get_running_loop().create_task(
                self._finish(run, RunStatus.FAILED, error=f"fork failed: {exc}")
            )
            return
        run = dataclasses.replace(run, status=RunStatus.RUNNING, started=now)
        task = asyncio.get_running_loop().create_task(self._supervise(run, app, child))
        self._active[run.id] = _Active(run, child, task)

    async def _supervise(self, run: AppRun, app: Application, child: ChildProcess) -> None:
        try:
            await self._store(self.runs.update, run)
            outcome = await child.wait()
            await self._conclude(run, outcome)
        except Exception as exc:  # a bug or a DB failure must not leave the run open
            log.exception("run %d: supervision failed", run.id)
            with contextlib.suppress(Exception):
                await self._finish(run, RunStatus.FAILED, error=f"internal error: {exc}")
        finally:
            self._active.pop(run.id, None)
            self._dispatch()

    async def _conclude(self, run: AppRun, outcome: ChildOutcome) -> None:
        run = dataclasses.replace(run, exit_code=outcome.exit_code)
        if outcome.timed_out:
            await self._finish(
                run, RunStatus.TIMEOUT, error=f"time limit of {run.timeout} s exceeded"
            )
        elif outcome.killed:
            await self._finish(run, RunStatus.KILLED, error="killed on request")
        elif outcome.result is None:
            error = outcome.error or _exit_reason(outcome.exit_code)
            await self._finish(run, RunStatus.FAILED, error=error)
        else:
            await self._commit(run, outcome.result)

    async def _commit(self, run: AppRun, result: AppResult) -> None:
        summary = dict(result.summary)
        if run.mode is RunMode.READ:
            if result.changeset or result.records:
                summary["discarded"] = {
                    "operations": len(result.changeset),
                    "records": len(result.records),
                }
            await self._finish(run, RunStatus.DONE, summary=summary)
            return
        if result.records and self.record_sink is None:
            await self._finish(
                run,
                RunStatus.FAILED,
                summary=summary,
                error="the result has records but this server has no record sink",
            )
            return
        log_seq: int | None = None
        try:
            also = None
            if result.records and self.record_sink is not None:
                also = self.record_sink(run, result.records)
            if result.changeset or also is not None:
                seq = await self.service.commit(result.changeset, also=also)
                log_seq = seq if result.changeset else None
        except DynamoError as exc:
            await self._finish(
                run,
                RunStatus.FAILED,
                summary=summary,
                log_seq=log_seq,
                error=f"commit failed: {exc}",
            )
            return
        summary["committed"] = {"operations": len(result.changeset), "records": len(result.records)}
        await self._finish(run, RunStatus.DONE, summary=summary, log_seq=log_seq)

    async def _finish(self, run: AppRun, status: RunStatus, **values: Any) -> AppRun:
        run = dataclasses.replace(run, status=status, finished=int(self.clock()), **values)
        await self._store(self.runs.update, run)
        log.info("run %d: %s %s (%s)", run.id, run.app, status, run.error or "ok")
        event = self._finished.pop(run.id, None)
        if event is not None:
            event.set()
        watcher = self._watchers.pop(run.id, None)
        if watcher is not None:
            watcher(run)
        return run

    async def _store(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the RunStore from a worker thread (a SQL store does I/O)."""
        return await asyncio.to_thread(method, *args, **kwargs)

    # ------------------------------------------------------------------ schedules

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            await asyncio.sleep(self.config.poll_seconds)

    async def tick(self) -> None:
        """Submit whatever the schedules say is due now."""
        await self.driver.tick(self.clock(), self)

    def watch(self, run: AppRun, callback: Callable[[AppRun], None]) -> None:
        """Call ``callback(run)`` when ``run`` ends (now, if it already has)."""
        if run.id in self._finished:
            self._watchers[run.id] = callback
        else:
            callback(run)

    async def submit_scheduled(
        self, app: str, args: Mapping[str, Any], timeout: int | None, writes: bool, source: str
    ) -> AppRun | None:
        """Submit a run on behalf of a schedule (authorised by the configuration); None if
        it could not be submitted (logged)."""
        try:
            return await self.submit(
                app, args=args, timeout=timeout, writes=writes, source=source, authorized=True
            )
        except DynamoError as exc:
            log.error("%s: cannot submit %s: %s", source, app, exc)
            return None


def build_scheduler(
    service: InventoryService,
    store: SqlInventoryStore,
    config: SchedulerConfig,
    registry: ApplicationRegistry | None = None,
    *,
    detox: DetoxConfig | None = None,
    fileops: FileOpsConfig | None = None,
    consistency: ConsistencyConfig | None = None,
    dealer: DealerConfig | None = None,
) -> Scheduler | None:
    """The server's scheduler (None when ``config.enabled`` is false): runs recorded in the
    store's database, children that forget the store's pooled connections, the built-in
    applications, Detox and the file-operations updater, and the record sink that commits
    their records."""
    if not config.enabled:
        return None
    engine = store.engine
    runner = ForkRunner(
        config.work_dir,
        child_hooks=[lambda: engine.dispose(close=False)],
        kill_grace=config.kill_grace,
    )
    if registry is None:
        registry = builtin_registry()
        url = engine.url
        registry.register(DetoxApp(detox or DetoxConfig(), lambda: make_engine(url)))
        registry.register(UpdaterApp(lambda: make_engine(url)))
        registry.register(DealerApp(lambda: make_engine(url), dealer or DealerConfig()))
        registry.register(SyncApp(lambda: make_engine(url)))
        files = fileops or FileOpsConfig()
        registry.register(FileOpsManagerApp(lambda: make_engine(url), files))
        registry.register(
            ConsistencyApp(
                consistency or ConsistencyConfig(), files.endpoints, lambda: make_engine(url)
            )
        )
    return Scheduler(
        service,
        registry,
        SqlRunStore(engine),
        runner,
        config,
        record_sink=record_sink,
        cleanups=[lambda now: _abandon_planned_cycles(engine, now)],
    )


def _abandon_planned_cycles(engine: Engine, now: int) -> None:
    """Planned Detox and Dealer cycles whose runs can no longer commit them (the leader
    starts: nothing of its own runs yet) are marked abandoned. Not at a follower's start:
    the leader's cycle in flight would be abandoned under it."""
    abandoned = abandon_planned(engine, now=now)
    if abandoned:
        log.warning("%d Detox cycles planned by earlier runs were never committed", abandoned)
    if abandon_planned_dealer(engine, now=now):
        log.warning("Dealer cycles planned by earlier runs were never committed")


def record_sink(run: AppRun, records: list[dict[str, Any]]) -> SideWrite:
    """The server's record sink: each record kind written by its application's own code."""
    kinds = {record.get("kind") for record in records}
    if kinds - {COMMIT_RECORD, UPDATE_RECORD, DEALER_RECORD, SYNC_RECORD}:
        raise ConfigurationError(
            f"run {run.id}: records of unknown kinds {sorted(map(str, kinds))}"
        )
    detox = [record for record in records if record.get("kind") == COMMIT_RECORD]
    updates = [record for record in records if record.get("kind") == UPDATE_RECORD]
    dealer = [record for record in records if record.get("kind") == DEALER_RECORD]
    synced = [record for record in records if record.get("kind") == SYNC_RECORD]

    def write(connection: Any, seq: int | None) -> None:
        now = int(time.time())
        if detox:
            commit_records(connection, detox, seq, now)
        if updates:
            apply_update_records(connection, updates, now)
        if dealer:
            commit_dealer_records(connection, dealer, seq, now)
        if synced:
            write_synced_records(connection, synced, now)

    return write


def _exit_reason(exit_code: int) -> str:
    if exit_code < 0:
        return f"killed by signal {-exit_code}"
    return f"exited with code {exit_code} (the log has the traceback)"
