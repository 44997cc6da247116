"""The file-operation port: what the manager asks of a transfer/deletion backend.

The manager (:mod:`dynamo.fileops.manager`) owns the queue tables. It forms a :class:`BatchSpec`
(tasks of one kind for one link, for one backend), calls :meth:`FileOpBackend.submit` once, then
:meth:`FileOpBackend.poll` every cycle until every task of the batch has a :class:`TaskResult`.
A backend never writes the queue tables' subscription rows; it reports, the manager decides.

Times are integer seconds since the epoch (UTC), as in the tables. ``exit_code`` is an errno:
0 when done, a positive errno when failed (see :mod:`dynamo.fileops.errors` for which ones are
worth retrying), -1 when the backend cannot tell.

:class:`MemoryFileOpBackend` is the in-memory double: it finishes every task at the first poll,
failing a seeded fraction of them; tests, dry runs and the benchmark use it.
"""

from __future__ import annotations

import enum
import errno
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "BatchSpec",
    "BatchStatus",
    "FileOpBackend",
    "HoldReason",
    "MemoryFileOpBackend",
    "OpKind",
    "SubscriptionStatus",
    "TaskResult",
    "TaskSpec",
    "TaskStatus",
]


class OpKind(enum.StrEnum):
    """What a subscription asks: the file should be at the site, or should not."""

    TRANSFER = "transfer"
    DELETION = "deletion"


class SubscriptionStatus(enum.StrEnum):
    """``new -> inbatch -> done``; ``retry`` goes back to source selection; ``held`` waits for
    a release; ``cancelled`` is final. Done and cancelled rows are removed by the updater."""

    NEW = "new"
    INBATCH = "inbatch"
    DONE = "done"
    RETRY = "retry"
    HELD = "held"
    CANCELLED = "cancelled"


class HoldReason(enum.StrEnum):
    """Why a subscription is held."""

    NO_SOURCE = "no_source"
    """No ready site holds a complete copy of the file."""
    ALL_FAILED = "all_failed"
    """Every source failed, and the last error of each is not worth retrying."""
    SITE_UNAVAILABLE = "site_unavailable"
    """The destination (or, for a deletion, the site) is not ready."""


class TaskStatus(enum.StrEnum):
    """``new -> (staging -> staged ->) active -> done | failed | cancelled``."""

    NEW = "new"
    STAGING = "staging"
    STAGED = "staged"
    ACTIVE = "active"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True for done, failed and cancelled."""
        return self in _FINAL


_FINAL = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED})


class BatchStatus(enum.StrEnum):
    """``queued -> claimed`` (a standalone worker holds it) ``| submitted`` (an external backend
    has it) ``-> done``."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    SUBMITTED = "submitted"
    DONE = "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSpec:
    """One file to copy or delete.

    For a transfer, ``source_*`` name where to read and ``url``/``path`` where to write; for a
    deletion the ``source_*`` fields are None and ``url``/``path`` name the file to remove.
    ``path`` is the site path (the storage port's argument), ``url`` the full PFN.
    ``adler32`` (8 lowercase hex digits) is the checksum the result must have.
    """

    task_id: int
    subscription_id: int
    kind: OpKind
    lfn: str
    size: int
    adler32: str
    site: str
    url: str
    path: str
    source_site: str | None = None
    source_url: str | None = None
    source_path: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    """The end of one task. ``status`` is done, failed or cancelled."""

    task_id: int
    status: TaskStatus
    exit_code: int
    message: str = ""
    started: int | None = None
    finished: int | None = None

    def __post_init__(self) -> None:
        if not self.status.is_final:
            raise ValueError(f"a task result must be final, not {self.status}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchSpec:
    """Tasks of one kind on one link (``source_site`` -> ``site``; None for deletions) for one
    backend. ``is_staging``: the source is tape, files must be brought online first.
    ``external_id`` is what :meth:`FileOpBackend.submit` returned (None before submission)."""

    batch_id: int
    kind: OpKind
    backend: str
    site: str
    tasks: tuple[TaskSpec, ...]
    source_site: str | None = None
    is_staging: bool = False
    external_id: str | None = None


@runtime_checkable
class FileOpBackend(Protocol):
    """Executes batches. Implementations: standalone (DB workers), fts3, memory."""

    @property
    def name(self) -> str:
        """The name the batches' ``backend`` column holds."""
        ...

    def submit(self, batch: BatchSpec) -> str | None:
        """Hand the batch over; returns the backend's id for it (None if it needs none).

        Raising means nothing was submitted: the manager sends the tasks back to retry.
        """
        ...

    def poll(self, batch: BatchSpec) -> Sequence[TaskResult]:
        """The results of the batch's tasks that finished so far (a task may be reported again
        on a later poll; the manager ignores repeats)."""
        ...

    def cancel(self, batch: BatchSpec, task_ids: Sequence[int]) -> None:
        """Stop these tasks if possible; they are then reported cancelled (or done/failed if it
        was too late) by a later poll."""
        ...

    def pending(self) -> int:
        """How many submitted tasks are not finished (the manager stops submitting above its
        limit)."""
        ...


@dataclass(slots=True, kw_only=True, eq=False)
class MemoryFileOpBackend:
    """In-memory double: each task finishes at the first poll after ``delay_polls`` polls.

    A seeded ``failure_fraction`` of tasks fail with ``failure_code`` (ETIMEDOUT: retryable).
    ``failing_sources`` fail every transfer read from those sites with ``EIO`` (irrecoverable).
    """

    name: str = "memory"
    failure_fraction: float = 0.0
    failure_code: int = errno.ETIMEDOUT
    failing_sources: frozenset[str] = frozenset()
    delay_polls: int = 0
    seed: int = 0
    now: int = 0
    submitted: dict[int, BatchSpec] = field(default_factory=dict)
    cancelled: set[int] = field(default_factory=set)
    _polls: dict[int, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def submit(self, batch: BatchSpec) -> str | None:
        self.submitted[batch.batch_id] = batch
        self._polls[batch.batch_id] = 0
        return f"memory-{batch.batch_id}"

    def poll(self, batch: BatchSpec) -> Sequence[TaskResult]:
        known = self.submitted.pop(batch.batch_id, None)
        if known is None:
            return ()
        polls = self._polls.pop(batch.batch_id, 0)
        if polls < self.delay_polls:
            self.submitted[batch.batch_id] = known
            self._polls[batch.batch_id] = polls + 1
            return ()
        return [self._finish(task) for task in known.tasks]

    def cancel(self, batch: BatchSpec, task_ids: Sequence[int]) -> None:
        self.cancelled.update(task_ids)

    def pending(self) -> int:
        return sum(len(batch.tasks) for batch in self.submitted.values())

    def _finish(self, task: TaskSpec) -> TaskResult:
        if task.task_id in self.cancelled:
            self.cancelled.discard(task.task_id)
            status, code, message = TaskStatus.CANCELLED, 0, "cancelled"
        elif task.source_site is not None and task.source_site in self.failing_sources:
            status, code, message = TaskStatus.FAILED, errno.EIO, "source failing"
        elif self.failure_fraction > 0 and self._rng.random() < self.failure_fraction:
            status, code, message = TaskStatus.FAILED, self.failure_code, "simulated failure"
        else:
            status, code, message = TaskStatus.DONE, 0, ""
        return TaskResult(
            task_id=task.task_id,
            status=status,
            exit_code=code,
            message=message,
            started=self.now,
            finished=self.now,
        )
