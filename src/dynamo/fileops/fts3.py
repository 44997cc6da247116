"""Fts3Backend: file operations through an FTS3 server (the REST client is :mod:`.fts3_client`).

A batch becomes one FTS3 job per ``max_files_per_job`` tasks (CMS used 1000); the batch's
external id is the job id, or several joined by ``,``. Transfer jobs carry, per file, the
source and destination URL, the size and ``ADLER32:xxxxxxxx``; per job ``verify_checksum``,
``overwrite``, ``retry``, ``priority`` and a ``job_metadata`` JSON text naming the Dynamo batch.
Deletion jobs carry a ``delete`` list. Each file's ``metadata`` (JSON text) holds its Dynamo
task id, which is how answers are matched back to tasks (else ``file_index``, else the URL).

Tape sources (``BatchSpec.is_staging``). The original Dynamo submitted a staging job and then,
once the files were online, a second transfer job. FTS3 does both in one job when
``bring_online`` is set: its files go ``STAGING`` first and are transferred once online. This
backend submits that one job, so a batch has a single id to poll and nothing to remember
between the two phases; the files stay unfinished (not reported) while they stage.

State mapping (files): FINISHED -> done; FAILED -> failed with the errno of the reason;
CANCELED -> cancelled; NOT_USED (an alternative source that was not needed) -> cancelled once
the job is over; SUBMITTED, READY, ACTIVE, STAGING, STARTED, DELETE, ON_HOLD -> not finished.
A job in FINISHEDDIRTY has some files done and some failed: each is reported on its own. A job
that ended (FINISHED, FAILED, FINISHEDDIRTY, CANCELED) with files still unfinished reports them
cancelled (CANCELED) or failed. A job FTS3 answers 404 for (purged) fails its tasks with -1.
"""

from __future__ import annotations

import contextlib
import errno
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from dynamo.fileops.errors import UNKNOWN_ERRNO, errno_from_message
from dynamo.fileops.fts3_client import (
    Fts3Client,
    Fts3Error,
    Fts3File,
    Fts3HttpError,
    Fts3Job,
)
from dynamo.fileops.ports import BatchSpec, OpKind, TaskResult, TaskSpec, TaskStatus

__all__ = [
    "FINAL_JOB_STATES",
    "PENDING_JOB_STATES",
    "Fts3Backend",
    "deletion_job_request",
    "errno_for_reason",
    "file_result",
    "transfer_job_request",
]

PENDING_JOB_STATES: Final = ("SUBMITTED", "READY", "ACTIVE", "STAGING", "STARTED", "DELETE")
"""Job states of work not yet finished (what :meth:`Fts3Backend.pending` counts)."""
FINAL_JOB_STATES: Final = frozenset({"FINISHED", "FAILED", "FINISHEDDIRTY", "CANCELED"})

_BRACKETED_ERRNO = re.compile(r"\[(\d{1,3})\]")
# HTTP statuses quoted by gfal2 in FTS3 reasons ("HEAD failed with code '404'"); other phrases
# are dynamo.fileops.errors' table.
_HTTP_CODE = re.compile(r"code '?(\d{3})'?")
_HTTP_ERRNO: Final = {
    "401": errno.EACCES,
    "403": errno.EACCES,
    "404": errno.ENOENT,
    "409": errno.ENOENT,
    "412": errno.EEXIST,
    "413": errno.ENOSPC,
    "507": errno.ENOSPC,
    "500": errno.EIO,
    "502": errno.ECONNREFUSED,
    "503": errno.EAGAIN,
    "504": errno.ETIMEDOUT,
}


def errno_for_reason(reason: str) -> int:
    """The errno of an FTS3 failure reason: the bracketed ``[N]`` FTS3 writes, else that of a
    known phrase (:func:`dynamo.fileops.errors.errno_from_message`), else that of a quoted HTTP
    status, else -1 (unknown)."""
    if match := _BRACKETED_ERRNO.search(reason):
        number = int(match.group(1))
        if number > 0:
            return number
    number = errno_from_message(reason)
    if number == UNKNOWN_ERRNO and (match := _HTTP_CODE.search(reason)):
        return _HTTP_ERRNO.get(match.group(1), UNKNOWN_ERRNO)
    return number


def _file_metadata(task: TaskSpec) -> str:
    # JSON text: fts-rest documents metadata as strings, and hands them back as given.
    return json.dumps({"task_id": task.task_id, "lfn": task.lfn}, separators=(",", ":"))


def _job_metadata(batch: BatchSpec, part: int) -> str:
    data = {"issuer": "dynamo", "batch_id": batch.batch_id, "part": part, "kind": str(batch.kind)}
    return json.dumps(data, separators=(",", ":"))


def transfer_job_request(
    batch: BatchSpec,
    tasks: Sequence[TaskSpec],
    *,
    part: int = 0,
    verify_checksum: bool = True,
    overwrite: bool = True,
    retry: int = 3,
    priority: int = 3,
    bring_online: int = 36000,
    copy_pin_lifetime: int = -1,
) -> dict[str, Any]:
    """The ``POST /jobs`` body copying ``tasks`` (part ``part`` of ``batch``)."""
    files = []
    for task in tasks:
        if task.source_url is None:
            raise ValueError(f"transfer task {task.task_id} has no source URL")
        files.append(
            {
                "sources": [task.source_url],
                "destinations": [task.url],
                "metadata": _file_metadata(task),
                "filesize": task.size,
                "checksum": f"ADLER32:{task.adler32}",
            }
        )
    params = {
        "verify_checksum": verify_checksum,
        "overwrite": overwrite,
        "retry": retry,
        "priority": priority,
        "reuse": False,
        "multihop": False,
        "bring_online": bring_online if batch.is_staging else -1,
        "copy_pin_lifetime": copy_pin_lifetime,
        "job_metadata": _job_metadata(batch, part),
    }
    return {"files": files, "params": params}


def deletion_job_request(
    batch: BatchSpec, tasks: Sequence[TaskSpec], *, part: int = 0
) -> dict[str, Any]:
    """The ``POST /jobs`` body deleting ``tasks`` (part ``part`` of ``batch``)."""
    return {
        "delete": [{"surl": task.url, "metadata": _file_metadata(task)} for task in tasks],
        "params": {"job_metadata": _job_metadata(batch, part)},
    }


def file_result(task_id: int, file: Fts3File, job_state: str) -> TaskResult | None:
    """The result of one file, or None while it is unfinished in an unfinished job."""
    state = file.state.upper()
    if state == "FINISHED":
        status, code, message = TaskStatus.DONE, 0, file.reason
    elif state == "FAILED":
        status, code = TaskStatus.FAILED, errno_for_reason(file.reason)
        message = file.reason or "FTS3 reports the file FAILED without a reason"
    elif state == "CANCELED":
        status, code, message = TaskStatus.CANCELLED, errno.ECANCELED, file.reason or "canceled"
    elif job_state.upper() not in FINAL_JOB_STATES:
        return None
    elif state == "NOT_USED" or job_state.upper() == "CANCELED":
        status, code, message = TaskStatus.CANCELLED, errno.ECANCELED, f"file {state} in a job over"
    else:
        status, code = TaskStatus.FAILED, -1
        message = f"the job is {job_state} but the file is still {state}"
    return TaskResult(
        task_id=task_id,
        status=status,
        exit_code=code,
        message=message,
        started=file.start_time,
        finished=file.finish_time,
    )


def _chunks(tasks: Sequence[TaskSpec], size: int) -> Iterator[tuple[int, Sequence[TaskSpec]]]:
    for part, start in enumerate(range(0, len(tasks), size)):
        yield part, tasks[start : start + size]


def _task_id_of(file: Fts3File, chunk: Sequence[TaskSpec]) -> int | None:
    """The task of a file: by the ``task_id`` of its metadata (an object, or its JSON text),
    else by its index in the job, else by its URL (deletion entries have neither)."""
    metadata = file.metadata
    if isinstance(metadata, str) and metadata.startswith("{"):
        with contextlib.suppress(ValueError):
            metadata = json.loads(metadata)
    if isinstance(metadata, Mapping) and isinstance(metadata.get("task_id"), int):
        return int(metadata["task_id"])
    if file.file_index is not None and 0 <= file.file_index < len(chunk):
        return chunk[file.file_index].task_id
    for url in (file.dest_surl, file.source_surl):
        for task in chunk:
            if url is not None and task.url == url:
                return task.task_id
    return None


def _forgotten(job_id: str, tasks: Sequence[TaskSpec]) -> list[TaskResult]:
    """Results for the tasks of a job FTS3 no longer knows (purged, or another server)."""
    message = f"FTS3 does not know job {job_id} (any more)"
    return [
        TaskResult(
            task_id=t.task_id, status=TaskStatus.FAILED, exit_code=UNKNOWN_ERRNO, message=message
        )
        for t in tasks
    ]


@dataclass(slots=True, kw_only=True, eq=False)
class Fts3Backend:
    """A :class:`~dynamo.fileops.ports.FileOpBackend` submitting to one FTS3 server.

    ``client`` is an open :class:`Fts3Client` (the backend does not close it; see
    :meth:`connect` for one that does). ``retry`` is FTS3's own retry count per file (CMS used
    3), ``bring_online`` the staging timeout in seconds for tape sources (the original's 36,000).
    """

    client: Fts3Client
    name: str = "fts3"
    max_files_per_job: int = 1000
    verify_checksum: bool = True
    overwrite: bool = True
    retry: int = 3
    priority: int = 3
    bring_online: int = 36000
    copy_pin_lifetime: int = -1
    _file_counts: dict[str, int] = field(default_factory=dict, init=False)
    _user_dn: str | None = field(default=None, init=False)
    _owns_client: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.max_files_per_job < 1:
            raise ValueError("max_files_per_job must be at least 1")

    @classmethod
    def connect(
        cls,
        endpoint: str,
        *,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        ca_dir: str | Path | None = None,
        ca_file: str | Path | None = None,
        timeout: float = 60.0,
        **options: Any,
    ) -> Fts3Backend:
        """A backend with its own client for ``endpoint`` (closed by :meth:`close`); ``options``
        are the other fields (``max_files_per_job``, ``retry``, ...)."""
        client = Fts3Client(
            endpoint, cert=cert, key=key, ca_dir=ca_dir, ca_file=ca_file, timeout=timeout
        )
        try:
            backend = cls(client=client, **options)
        except (TypeError, ValueError):
            client.close()
            raise
        backend._owns_client = True
        return backend

    def close(self) -> None:
        """Close the client if :meth:`connect` made it."""
        if self._owns_client:
            self.client.close()

    def _request(self, batch: BatchSpec, part: int, tasks: Sequence[TaskSpec]) -> dict[str, Any]:
        if batch.kind == OpKind.DELETION:
            return deletion_job_request(batch, tasks, part=part)
        return transfer_job_request(
            batch,
            tasks,
            part=part,
            verify_checksum=self.verify_checksum,
            overwrite=self.overwrite,
            retry=self.retry,
            priority=self.priority,
            bring_online=self.bring_online,
            copy_pin_lifetime=self.copy_pin_lifetime,
        )

    def submit(self, batch: BatchSpec) -> str | None:
        """Submit one job per ``max_files_per_job`` tasks; returns the job ids joined by ``,``.

        If one job is refused, those already submitted are cancelled and the error raised, so
        that nothing of the batch stays submitted.
        """
        if not batch.tasks:
            return None
        job_ids: list[str] = []
        try:
            for part, tasks in _chunks(batch.tasks, self.max_files_per_job):
                job_id = self.client.submit(self._request(batch, part, tasks))
                job_ids.append(job_id)
                self._file_counts[job_id] = len(tasks)
        except Fts3Error:
            for job_id in job_ids:
                self._cancel_quietly(job_id)
            raise
        return ",".join(job_ids)

    def _cancel_quietly(self, job_id: str) -> None:
        with contextlib.suppress(Fts3Error):  # the submission error is what the caller sees
            self.client.cancel(job_id)

    def _jobs(self, batch: BatchSpec) -> Iterator[tuple[str, Sequence[TaskSpec]]]:
        if not batch.external_id:
            return
        job_ids = batch.external_id.split(",")
        chunks = [tasks for _, tasks in _chunks(batch.tasks, self.max_files_per_job)]
        if len(chunks) != len(job_ids):
            raise Fts3Error(
                f"batch {batch.batch_id} has {len(job_ids)} FTS3 jobs but its tasks make "
                f"{len(chunks)} jobs of {self.max_files_per_job}: max_files_per_job changed?"
            )
        yield from zip(job_ids, chunks, strict=True)

    def _files(self, batch: BatchSpec, job_id: str) -> tuple[Fts3Job, Sequence[Fts3File]]:
        if batch.kind == OpKind.DELETION:
            job = self.client.job(job_id, files=())
            return job, self.client.deletion_files(job_id)
        job = self.client.job(job_id)
        return job, job.files

    def poll(self, batch: BatchSpec) -> Sequence[TaskResult]:
        """The results of the finished files of the batch's jobs."""
        results: list[TaskResult] = []
        for job_id, tasks in self._jobs(batch):
            try:
                job, files = self._files(batch, job_id)
            except Fts3HttpError as exc:
                if exc.status != 404:
                    raise
                results.extend(_forgotten(job_id, tasks))
                continue
            known = {task.task_id for task in tasks}
            for file in files:
                task_id = _task_id_of(file, tasks)
                if task_id is None or task_id not in known:
                    continue
                result = file_result(task_id, file, job.state)
                if result is not None:
                    results.append(result)
            if job.state in FINAL_JOB_STATES:
                self._file_counts.pop(job_id, None)
        return results

    def cancel(self, batch: BatchSpec, task_ids: Sequence[int]) -> None:
        """Cancel whole jobs when all their tasks are named, else the named files (transfer
        jobs only: FTS3 cancels deletion jobs as a whole)."""
        wanted = set(task_ids)
        for job_id, tasks in self._jobs(batch):
            mine = {task.task_id for task in tasks} & wanted
            if not mine:
                continue
            if len(mine) == len(tasks):
                self.client.cancel(job_id)
            elif batch.kind == OpKind.TRANSFER:
                files = self.client.job_files(job_id)
                ids = [f.file_id for f in files if _task_id_of(f, tasks) in mine]
                self.client.cancel_files(job_id, ids)

    def pending(self) -> int:
        """Files of this user's unfinished jobs on the server (a job's files count until the
        job ends, as FTS3's job list says nothing finer)."""
        if self._user_dn is None:
            self._user_dn = self.client.whoami().user_dn
        total = 0
        for job in self.client.jobs(states=PENDING_JOB_STATES, user_dn=self._user_dn):
            count = self._file_counts.get(job.job_id)
            if count is None:
                count = len(self.client.job_files(job.job_id)) or len(
                    self.client.deletion_files(job.job_id)
                )
                self._file_counts[job.job_id] = count
            total += count
        return total
