"""Collecting what the backends finished, and passing cancellations on to them.

For each batch in flight the backend is polled (outside any transaction); then, in one
transaction per batch, every new result is archived in ``fileop_history``, its task row is
removed, and its subscription (when still ``inbatch``) moves on:

- task done -> subscription done;
- transfer failed -> a ``fileop_failures`` row for the source, subscription retry (source
  selection decides next cycle whether to try again or hold);
- deletion failed -> retry when the errno is retryable, else held ``all_failed``;
- task cancelled by the backend on its own -> retry.

A batch handed to an external backend (``submitted``: FTS3) that still has tasks without a
result ``job_timeout`` seconds after its submission is overdue (a job that hangs): those tasks
are cancelled at the backend and fail with ETIMEDOUT, a retryable failure of their source, so
source selection retries or holds them as for any other failure. A cancellation the backend
refuses fails the batch's collection: nothing is marked, the next cycle tries again. Nothing
is done for a file without a result, so no file is taken as present that FTS3 did not verify.

A subscription that is no longer ``inbatch`` (cancelled meanwhile) keeps its status; its task
is archived all the same. A batch with no task left is removed. A queued batch that has no
external id yet is (re)submitted first: this is how a submission the manager did not get to
record survives a crash.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, insert, update

from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.errors import is_irrecoverable
from dynamo.fileops.inflight import InFlightBatch, TaskInfo, load_batches
from dynamo.fileops.ports import (
    BatchStatus,
    FileOpBackend,
    HoldReason,
    OpKind,
    SubscriptionStatus,
    TaskResult,
    TaskStatus,
)
from dynamo.store.schema.fileops import (
    fileop_batches,
    fileop_failures,
    fileop_history,
    fileop_subscriptions,
    fileop_tasks,
)
from dynamo.store.sqlops import chunks, is_any_of, lookup_chunk

__all__ = ["CollectCounts", "collect_results", "record_submission"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CollectCounts:
    """What one collection pass did."""

    done: int = 0
    failed: int = 0
    cancelled: int = 0
    retry: int = 0
    held: int = 0
    batches_finished: int = 0
    resubmitted: int = 0
    cancel_requests: int = 0
    backend_errors: int = 0
    timed_out: int = 0
    unknown_backend: set[str] = field(default_factory=set)


def record_submission(engine: Engine, batch_id: int, external_id: str | None, now: int) -> None:
    """Remember what :meth:`FileOpBackend.submit` returned (a batch with an external id is
    ``submitted``; one without stays ``queued``, which is what standalone workers claim)."""
    if external_id is None:
        return
    with engine.begin() as conn:
        conn.execute(
            update(fileop_batches)
            .where(fileop_batches.c.id == batch_id)
            .values(status=str(BatchStatus.SUBMITTED), external_id=external_id, updated=now)
        )


def collect_results(
    engine: Engine,
    endpoints: Endpoints,
    backends: Mapping[str, FileOpBackend],
    now: int,
    *,
    job_timeout: int = 0,
) -> CollectCounts:
    """Poll every batch in flight and apply the results (see the module docstring); the
    unfinished tasks of cancelled subscriptions are named to the backend's ``cancel`` first
    (again each cycle until a poll reports them). ``job_timeout`` > 0: seconds after which
    the tasks of a submitted batch still without a result are cancelled and failed."""
    counts = CollectCounts()
    with engine.connect() as conn:
        batches = load_batches(conn, endpoints)
    for batch in batches:
        backend = backends.get(batch.spec.backend)
        if backend is None:
            counts.unknown_backend.add(batch.spec.backend)
            continue
        try:
            results = _exchange(engine, backend, batch, now, counts)
            if job_timeout and batch.status == BatchStatus.SUBMITTED:
                results = [*results, *_expire(backend, batch, results, now, job_timeout, counts)]
        except Exception as exc:  # one failing backend or batch must not stop the others
            log.warning(
                "batch %d (%s): the backend failed, retried next cycle: %s",
                batch.spec.batch_id,
                batch.spec.backend,
                exc,
            )
            counts.backend_errors += 1
            continue
        with engine.begin() as conn:
            _apply_results(conn, batch, results, now, counts)
            if _drop_if_empty(conn, batch.spec.batch_id):
                counts.batches_finished += 1
    return counts


def _exchange(
    engine: Engine, backend: FileOpBackend, batch: InFlightBatch, now: int, counts: CollectCounts
) -> Sequence[TaskResult]:
    """(Re)submit if needed, pass cancellations on, poll."""
    if batch.status == BatchStatus.QUEUED and batch.spec.external_id is None and batch.tasks:
        external_id = backend.submit(batch.spec)
        record_submission(engine, batch.spec.batch_id, external_id, now)
        counts.resubmitted += external_id is not None
    cancellable = _cancellable(batch.tasks.values())
    if cancellable:
        backend.cancel(batch.spec, cancellable)
        counts.cancel_requests += len(cancellable)
        log.info(
            "batch %d: cancel %d tasks of cancelled subscriptions",
            batch.spec.batch_id,
            len(cancellable),
        )
    return backend.poll(batch.spec) if batch.tasks else ()


def _expire(
    backend: FileOpBackend,
    batch: InFlightBatch,
    results: Sequence[TaskResult],
    now: int,
    job_timeout: int,
    counts: CollectCounts,
) -> list[TaskResult]:
    """Cancel and fail the tasks of an overdue batch that have no result (see the module
    docstring); a ``cancel`` that raises leaves everything as it was."""
    age = now - batch.updated
    if age < job_timeout:
        return []
    reported = {result.task_id for result in results}
    overdue = [task_id for task_id in batch.tasks if task_id not in reported]
    if not overdue:
        return []
    backend.cancel(batch.spec, overdue)
    log.warning(
        "batch %d (%s %s): %d tasks without a result %d s after submission: cancelled",
        batch.spec.batch_id,
        batch.spec.backend,
        batch.spec.external_id,
        len(overdue),
        age,
    )
    counts.timed_out += len(overdue)
    message = f"no result from {batch.spec.backend} {age} s after submission: cancelled"
    return [
        TaskResult(
            task_id=task_id,
            status=TaskStatus.FAILED,
            exit_code=errno.ETIMEDOUT,
            message=message,
            finished=now,
        )
        for task_id in overdue
    ]


def _apply_results(
    conn: Connection,
    batch: InFlightBatch,
    results: Sequence[TaskResult],
    now: int,
    counts: CollectCounts,
) -> None:
    fresh: dict[int, TaskResult] = {}
    for result in results:
        if result.task_id in batch.tasks:
            fresh[result.task_id] = result
    if not fresh:
        return
    history: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    outcome: dict[tuple[str, str | None], list[int]] = {}
    for task_id, result in fresh.items():
        info = batch.tasks[task_id]
        history.append(_history_row(info, batch.spec.backend, result, now))
        status, hold = _next_status(info, result)
        if result.status is TaskStatus.DONE:
            counts.done += 1
        elif result.status is TaskStatus.FAILED:
            counts.failed += 1
            if info.kind is OpKind.TRANSFER and info.source_site is not None:
                failures.append(
                    {
                        "subscription_id": info.subscription_id,
                        "source_site": info.source_site,
                        "exit_code": result.exit_code,
                        "message": result.message[:4000],
                        "at": result.finished or now,
                    }
                )
        else:
            counts.cancelled += 1
        if info.subscription_status == SubscriptionStatus.INBATCH:
            outcome.setdefault((status, hold), []).append(info.subscription_id)
            counts.retry += status == SubscriptionStatus.RETRY
            counts.held += status == SubscriptionStatus.HELD
    conn.execute(insert(fileop_history), history)
    if failures:
        conn.execute(insert(fileop_failures), failures)
    if len(fresh) == len(batch.tasks):
        conn.execute(delete(fileop_tasks).where(fileop_tasks.c.batch_id == batch.spec.batch_id))
    else:
        for part in chunks(list(fresh), lookup_chunk(conn)):
            conn.execute(delete(fileop_tasks).where(is_any_of(conn, fileop_tasks.c.id, part)))
    subs = fileop_subscriptions
    for (status, hold), ids in outcome.items():
        for part in chunks(ids, lookup_chunk(conn)):
            conn.execute(
                update(subs)
                .where(is_any_of(conn, subs.c.id, part), subs.c.status == "inbatch")
                .values(status=status, hold_reason=hold, updated=now)
            )


def _next_status(info: TaskInfo, result: TaskResult) -> tuple[str, str | None]:
    if result.status is TaskStatus.DONE:
        return str(SubscriptionStatus.DONE), None
    if (
        result.status is TaskStatus.FAILED
        and info.kind is OpKind.DELETION
        and is_irrecoverable(result.exit_code)
    ):
        return str(SubscriptionStatus.HELD), str(HoldReason.ALL_FAILED)
    return str(SubscriptionStatus.RETRY), None


def _history_row(info: TaskInfo, backend: str, result: TaskResult, now: int) -> dict[str, Any]:
    return {
        "kind": str(info.kind),
        "lfn": info.lfn,
        "site": info.site,
        "source_site": info.source_site,
        "backend": backend,
        "size": info.size,
        "status": str(result.status),
        "exit_code": result.exit_code,
        "message": result.message[:4000] or None,
        "origin": info.origin,
        "created": info.created,
        "started": result.started,
        "finished": result.finished or now,
    }


def _drop_if_empty(conn: Connection, batch_id: int) -> bool:
    has_task = exists().where(fileop_tasks.c.batch_id == batch_id)
    result = conn.execute(delete(fileop_batches).where(fileop_batches.c.id == batch_id, ~has_task))
    return bool(result.rowcount)


def _cancellable(tasks: Iterable[TaskInfo]) -> list[int]:
    return [
        t.task_id
        for t in tasks
        if t.subscription_status == SubscriptionStatus.CANCELLED
        and not TaskStatus(t.task_status).is_final
    ]
