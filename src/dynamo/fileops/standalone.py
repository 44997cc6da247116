"""The standalone backend: batches wait in the database for workers (:mod:`.worker`).

The manager's side (:class:`StandaloneBackend`): ``submit`` has nothing to send (the batch
row is already ``queued``), ``poll`` reads the tasks the workers finished, ``cancel`` marks
tasks that no worker started as cancelled.

The workers' side (the functions below): a worker claims one queued batch at a time
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB, so that concurrent workers
never take the same batch), keeps its ``heartbeat`` fresh, moves each task new -> (staging ->
staged ->) active -> done/failed, and marks the batch done. A batch whose heartbeat is older
than ``stale_after`` seconds (its worker died) is claimed again: its unfinished tasks go back
to new. A worker stopping early releases its batch the same way.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select, update

from dynamo.fileops.ports import (
    BatchSpec,
    BatchStatus,
    OpKind,
    TaskResult,
    TaskStatus,
)
from dynamo.store.schema.fileops import fileop_batches, fileop_subscriptions, fileop_tasks
from dynamo.store.sqlops import chunks, is_any_of, lookup_chunk

__all__ = [
    "NAME",
    "ClaimedBatch",
    "StandaloneBackend",
    "WorkTask",
    "claim_batch",
    "finish_batch",
    "finish_task",
    "heartbeat",
    "mark_tasks",
    "release_batch",
    "start_task",
]

NAME = "standalone"
_b, _t, _s = fileop_batches, fileop_tasks, fileop_subscriptions
_FINAL = [TaskStatus.DONE.value, TaskStatus.FAILED.value, TaskStatus.CANCELLED.value]
_UNSTARTED = [TaskStatus.NEW.value, TaskStatus.STAGING.value, TaskStatus.STAGED.value]
_UNFINISHED = [*_UNSTARTED, TaskStatus.ACTIVE.value]


def _epoch() -> int:
    return int(time.time())


class StandaloneBackend:
    """The manager's handle on the standalone workers (see the module docstring)."""

    name = NAME

    def __init__(self, engine: Engine, *, clock: Callable[[], int] = _epoch) -> None:
        self._engine = engine
        self._clock = clock

    def submit(self, batch: BatchSpec) -> str | None:
        return None

    def poll(self, batch: BatchSpec) -> Sequence[TaskResult]:
        query = select(
            _t.c.id, _t.c.status, _t.c.exit_code, _t.c.message, _t.c.started, _t.c.finished
        ).where(_t.c.batch_id == batch.batch_id, _t.c.status.in_(_FINAL))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            TaskResult(
                task_id=id_,
                status=TaskStatus(status),
                exit_code=-1 if code is None else code,
                message=message or "",
                started=started,
                finished=finished,
            )
            for id_, status, code, message, started, finished in rows
        ]

    def cancel(self, batch: BatchSpec, task_ids: Sequence[int]) -> None:
        now = self._clock()
        with self._engine.begin() as conn:
            for part in chunks(task_ids, lookup_chunk(conn)):
                conn.execute(
                    update(_t)
                    .where(is_any_of(conn, _t.c.id, part), _t.c.status.in_(_UNSTARTED))
                    .values(
                        status=TaskStatus.CANCELLED.value,
                        exit_code=errno.ECANCELED,
                        message="cancelled before it started",
                        finished=now,
                    )
                )

    def pending(self) -> int:
        query = (
            select(func.count())
            .select_from(_t.join(_b, _t.c.batch_id == _b.c.id))
            .where(_b.c.backend == NAME, _t.c.status.in_(_UNFINISHED))
        )
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkTask:
    """A task as a worker needs it."""

    task_id: int
    kind: OpKind
    lfn: str
    size: int
    adler32: str
    site: str
    path: str
    source_site: str | None
    source_path: str | None
    status: TaskStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedBatch:
    """A batch a worker holds; ``is_reclaimed`` when a previous holder died with it."""

    batch_id: int
    kind: OpKind
    site: str
    source_site: str | None
    is_staging: bool
    is_reclaimed: bool
    tasks: tuple[WorkTask, ...]


def claim_batch(
    engine: Engine, worker_id: str, *, now: int, stale_after: int
) -> ClaimedBatch | None:
    """Claim the oldest queued standalone batch, or one whose holder is gone (stale
    heartbeat, or this worker's own id from an earlier life); None when there is none."""
    reclaimable = (_b.c.status == BatchStatus.CLAIMED.value) & or_(
        _b.c.heartbeat <= now - stale_after, _b.c.claimed_by == worker_id
    )
    query = (
        select(_b.c.id, _b.c.status, _b.c.kind, _b.c.site, _b.c.source_site, _b.c.staging)
        .where(_b.c.backend == NAME, or_(_b.c.status == BatchStatus.QUEUED.value, reclaimable))
        .order_by(_b.c.id)
        .limit(1)
    )
    with engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        batch_id, status, kind, site, source_site, staging = row
        is_reclaimed = status == BatchStatus.CLAIMED.value
        conn.execute(
            update(_b)
            .where(_b.c.id == batch_id)
            .values(
                status=BatchStatus.CLAIMED.value, claimed_by=worker_id, heartbeat=now, updated=now
            )
        )
        if is_reclaimed:
            conn.execute(
                update(_t)
                .where(_t.c.batch_id == batch_id, _t.c.status.in_(_UNFINISHED))
                .values(status=TaskStatus.NEW.value, started=None)
            )
        tasks = conn.execute(
            select(
                _t.c.id,
                _s.c.kind,
                _s.c.lfn,
                _s.c.size,
                _s.c.adler32,
                _s.c.site,
                _t.c.path,
                _t.c.source_site,
                _t.c.source_path,
                _t.c.status,
            )
            .select_from(_t.join(_s, _t.c.subscription_id == _s.c.id))
            .where(_t.c.batch_id == batch_id, _t.c.status.in_(_UNFINISHED))
            .order_by(_t.c.id)
        ).all()
    return ClaimedBatch(
        batch_id=batch_id,
        kind=OpKind(kind),
        site=site,
        source_site=source_site,
        is_staging=bool(staging),
        is_reclaimed=is_reclaimed,
        tasks=tuple(
            WorkTask(
                task_id=r[0],
                kind=OpKind(r[1]),
                lfn=r[2],
                size=r[3],
                adler32=r[4],
                site=r[5],
                path=r[6],
                source_site=r[7],
                source_path=r[8],
                status=TaskStatus(r[9]),
            )
            for r in tasks
        ),
    )


def heartbeat(engine: Engine, batch_id: int, worker_id: str, *, now: int) -> bool:
    """Refresh the batch's heartbeat; False when this worker no longer holds it."""
    with engine.begin() as conn:
        result = conn.execute(
            update(_b)
            .where(_b.c.id == batch_id, _b.c.claimed_by == worker_id)
            .values(heartbeat=now)
        )
    return bool(result.rowcount)


def mark_tasks(engine: Engine, task_ids: Sequence[int], status: TaskStatus) -> None:
    """Move unstarted tasks to ``staging`` or ``staged``."""
    with engine.begin() as conn:
        for part in chunks(task_ids, lookup_chunk(conn)):
            conn.execute(
                update(_t)
                .where(is_any_of(conn, _t.c.id, part), _t.c.status.in_(_UNSTARTED))
                .values(status=status.value)
            )


def start_task(engine: Engine, task_id: int, *, now: int) -> bool:
    """Mark the task active; False when it may not run (cancelled, or taken back)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(_t)
            .where(_t.c.id == task_id, _t.c.status.in_(_UNSTARTED))
            .values(status=TaskStatus.ACTIVE.value, started=now)
        )
    return bool(result.rowcount)


def finish_task(engine: Engine, result: TaskResult) -> None:
    """Record a task's end (unless it already ended)."""
    with engine.begin() as conn:
        conn.execute(
            update(_t)
            .where(_t.c.id == result.task_id, _t.c.status.in_(_UNFINISHED))
            .values(
                status=result.status.value,
                exit_code=result.exit_code,
                message=result.message[:4000] or None,
                started=result.started,
                finished=result.finished,
            )
        )


def finish_batch(engine: Engine, batch_id: int, worker_id: str, *, now: int) -> None:
    """Mark the batch done (its tasks all ended)."""
    with engine.begin() as conn:
        conn.execute(
            update(_b)
            .where(_b.c.id == batch_id, _b.c.claimed_by == worker_id)
            .values(status=BatchStatus.DONE.value, heartbeat=now, updated=now)
        )


def release_batch(engine: Engine, batch_id: int, worker_id: str, *, now: int) -> None:
    """Give the batch back: unfinished tasks to new, the batch queued for any worker."""
    with engine.begin() as conn:
        held = conn.execute(
            update(_b)
            .where(_b.c.id == batch_id, _b.c.claimed_by == worker_id)
            .values(status=BatchStatus.QUEUED.value, claimed_by=None, heartbeat=None, updated=now)
        ).rowcount
        if held:
            conn.execute(
                update(_t)
                .where(_t.c.batch_id == batch_id, _t.c.status.in_(_UNFINISHED))
                .values(status=TaskStatus.NEW.value, started=None)
            )
