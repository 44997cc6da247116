"""The jobs of the FTS3 test double: their state, their JSON, and the thread that runs them.

Transfers and deletions are done with Dynamo's storage backends (:mod:`dynamo.storage`); a URL
is served by the backend whose ``url("/")`` is its longest prefix. FTS3 itself would use gfal2
and its own retries, optimizer and scheduling; none of that is imitated here (``retry`` is
accepted and ignored).
"""

from __future__ import annotations

import errno
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from dynamo.fileops.errors import errno_of_storage_error
from dynamo.storage import (
    Capability,
    ChecksumMismatch,
    StorageBackend,
    StorageError,
    StorageUnsupported,
    copy_file,
)

__all__ = ["Job", "JobFile", "JobRunner", "fts_time"]

_QUOTED = frozenset({"http", "https", "dav", "davs"})
"""Schemes whose URLs carry percent-encoded paths (WebDAV); file:// and root:// do not."""
FINAL_FILE_STATES = frozenset({"FINISHED", "FAILED", "CANCELED", "NOT_USED"})
FINAL_JOB_STATES = frozenset({"FINISHED", "FAILED", "FINISHEDDIRTY", "CANCELED"})
JOB_FAILED_REASON = (
    "One or more files failed. Please have a look at the details for more information"
)


def fts_time(moment: datetime | None) -> str | None:
    """FTS3's time format: ISO seconds, UTC, no zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else None


def _now() -> datetime:
    return datetime.now(UTC)


def _reason(phase: str, exc: StorageError) -> str:
    """A reason in FTS3's style, ``TRANSFER [5] ...``, the errno in brackets when known."""
    return f"{phase} [{errno_of_storage_error(exc)}] {exc}"


@dataclass(slots=True, eq=False)
class JobFile:
    file_id: int
    file_index: int
    source_surl: str | None
    dest_surl: str | None
    metadata: Any = None
    checksum: str | None = None
    filesize: int | None = None
    state: str = "SUBMITTED"
    reason: str | None = None
    start_time: datetime | None = None
    finish_time: datetime | None = None
    stage: tuple[StorageBackend, str, str] | None = None
    """While STAGING: the tape backend, the site path and the staging request id."""

    def finish(self, state: str, reason: str | None = None) -> None:
        self.state, self.reason = state, reason
        self.finish_time = _now()
        self.start_time = self.start_time or self.finish_time

    def to_json(self, job: Job) -> dict[str, Any]:
        """The keys of fts-rest's file entries (``job_status_response_failed.json``)."""
        return {
            "agent_dn": None,
            "bringonline_token": self.stage[2] if self.stage else None,
            "checksum": self.checksum,
            "current_failures": None,
            "dest_se": _se(self.dest_surl),
            "dest_surl": self.dest_surl,
            "error_phase": None,
            "error_scope": None,
            "file_id": self.file_id,
            "file_index": self.file_index,
            "file_metadata": self.metadata,
            "file_state": self.state,
            "filesize": self.filesize,
            "finish_time": fts_time(self.finish_time),
            "internal_file_params": None,
            "job_finished": fts_time(job.finished),
            "job_id": job.job_id,
            "num_failures": None,
            "pid": None,
            "reason": self.reason,
            "reason_class": None,
            "retry": 0,
            "selection_strategy": None,
            "source_se": _se(self.source_surl),
            "source_surl": self.source_surl,
            "staging_finished": None,
            "staging_start": None,
            "start_time": fts_time(self.start_time),
            "symbolicname": None,
            "throughput": 0,
            "transferhost": "fts3-test-double",
            "tx_duration": None,
            "user_filesize": self.filesize or 0,
        }


def _se(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass(slots=True, eq=False)
class Job:
    job_id: str
    kind: str  # "transfer" or "delete"
    files: list[JobFile]
    params: Mapping[str, Any]
    user_dn: str
    vo_name: str
    state: str = "SUBMITTED"
    reason: str | None = None
    submitted: datetime = field(default_factory=_now)
    finished: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_JOB_STATES

    def to_json(self, file_fields: Sequence[str] | None = None) -> dict[str, Any]:
        """The keys of fts-rest's job status; ``files`` (with only ``file_fields`` when given)
        for a transfer job when ``file_fields`` is not None."""
        params = self.params
        data: dict[str, Any] = {
            "agent_dn": None,
            "bring_online": params.get("bring_online", -1),
            "cancel_job": self.state == "CANCELED",
            "checksum_method": "ADLER32" if params.get("verify_checksum") else None,
            "copy_pin_lifetime": params.get("copy_pin_lifetime", -1),
            "cred_id": None,
            "dest_se": _se(self.files[0].dest_surl) if self.files else None,
            "finish_time": fts_time(self.finished),
            "internal_job_params": None,
            "job_finished": fts_time(self.finished),
            "job_id": self.job_id,
            "job_metadata": params.get("job_metadata"),
            "job_params": None,
            "job_state": self.state,
            "max_time_in_queue": None,
            "overwrite_flag": bool(params.get("overwrite", False)),
            "priority": params.get("priority", 3),
            "reason": self.reason,
            "retry": params.get("retry", 0),
            "reuse_job": False,
            "source_se": _se(self.files[0].source_surl) if self.files else None,
            "source_space_token": None,
            "source_token_description": None,
            "space_token": None,
            "submit_host": "fts3-test-double",
            "submit_time": fts_time(self.submitted),
            "user_cred": None,
            "user_dn": self.user_dn,
            "verify_checksum": "b" if params.get("verify_checksum") else "n",
            "vo_name": self.vo_name,
        }
        if file_fields is not None:
            entries = [f.to_json(self) for f in self.files] if self.kind == "transfer" else []
            if file_fields:
                entries = [{k: e[k] for k in file_fields if k in e} for e in entries]
            data["files"] = entries
        return data

    def dm_json(self) -> list[dict[str, Any]]:
        """The entries of ``/jobs/{id}/dm`` (deletion jobs)."""
        if self.kind != "delete":
            return []
        return [
            {
                "file_id": f.file_id,
                "job_id": self.job_id,
                "source_surl": f.source_surl,
                "source_se": _se(f.source_surl),
                "file_metadata": f.metadata,
                "file_state": f.state,
                "reason": f.reason,
                "start_time": fts_time(f.start_time),
                "finish_time": fts_time(f.finish_time),
                "job_finished": fts_time(self.finished),
                "vo_name": self.vo_name,
            }
            for f in self.files
        ]

    def conclude(self) -> None:
        """Set the job's final state once every file is final."""
        if self.is_final or any(f.state not in FINAL_FILE_STATES for f in self.files):
            return
        states = {f.state for f in self.files}
        if states <= {"FINISHED", "NOT_USED"}:
            self.state = "FINISHED"
        elif states <= {"CANCELED", "NOT_USED"}:
            self.state = "CANCELED"
        elif "FINISHED" in states:
            self.state = "FINISHEDDIRTY"
        else:
            self.state, self.reason = "FAILED", JOB_FAILED_REASON
        self.finished = _now()

    def cancel(self, file_ids: Iterable[int] | None = None) -> None:
        """Cancel the unfinished files (those of ``file_ids``, or all of them)."""
        wanted = None if file_ids is None else set(file_ids)
        for f in self.files:
            if f.state not in FINAL_FILE_STATES and (wanted is None or f.file_id in wanted):
                f.finish(
                    "CANCELED",
                    "Job canceled by the user" if wanted is None else "File canceled by the user",
                )
        self.conclude()


class JobRunner:
    """Holds the jobs and moves them along from a background thread every ``step`` seconds:
    SUBMITTED -> (STAGING ->) ACTIVE -> FINISHED | FAILED | FINISHEDDIRTY, or CANCELED.

    One file of each job is handled per step (so a job is seen ACTIVE). While ``paused`` no job
    moves (tests use it to cancel a job before it runs).
    """

    def __init__(self, storages: Iterable[StorageBackend], *, step: float = 0.02) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.paused = threading.Event()
        self._prefixes = sorted(
            ((backend.url("/").rstrip("/"), backend) for backend in storages),
            key=lambda item: -len(item[0]),
        )
        self._step = step
        self._file_ids = iter(range(1, 1 << 62))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fts3-test-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def add(
        self,
        kind: str,
        files: list[tuple[str | None, str | None, Any, str | None, int | None]],
        params: Mapping[str, Any],
        user_dn: str,
        vo: str,
    ) -> Job:
        """A new SUBMITTED job; ``files`` are (source, destination, metadata, checksum, size)."""
        with self.lock:
            job_files = [
                JobFile(
                    next(self._file_ids),
                    index,
                    source,
                    dest,
                    meta,
                    checksum,
                    size,
                    state="DELETE" if kind == "delete" else "SUBMITTED",
                )
                for index, (source, dest, meta, checksum, size) in enumerate(files)
            ]
            job = Job(str(uuid.uuid4()), kind, job_files, params, user_dn, vo)
            job.state = "DELETE" if kind == "delete" else "SUBMITTED"
            self.jobs[job.job_id] = job
            return job

    def resolve(self, url: str | None) -> tuple[StorageBackend, str]:
        """The backend serving ``url`` and the site path in it."""
        for prefix, backend in self._prefixes:
            if url and (url == prefix or url.startswith(prefix + "/")):
                rest = url[len(prefix) :] or "/"
                return backend, unquote(rest) if url.split(":", 1)[0] in _QUOTED else rest
        raise StorageUnsupported("no storage element serves this URL", path=url)

    def _run(self) -> None:
        while not self._stop.wait(self._step):
            with self.lock:  # checked under the lock: a job added after pause() never runs
                if self.paused.is_set():
                    continue
                jobs = [job for job in self.jobs.values() if not job.is_final]
            for job in jobs:
                self._advance(job)

    def _advance(self, job: Job) -> None:
        if job.kind == "delete":
            self._next_file(job, ("DELETE",), self._delete)
        elif job.state == "SUBMITTED":
            self._start(job)
        elif job.state == "STAGING":
            self._poll_staging(job)
        else:
            self._next_file(job, ("SUBMITTED",), self._transfer)
        with self.lock:
            job.conclude()

    def _start(self, job: Job) -> None:
        staging = int(job.params.get("bring_online") or -1) > 0
        with self.lock:
            for f in job.files:
                if f.state != "SUBMITTED" or not staging:
                    continue
                try:
                    backend, path = self.resolve(f.source_surl)
                except StorageError as exc:
                    f.finish("FAILED", _reason("STAGING", exc))
                    continue
                if Capability.TAPE in backend.capabilities:
                    f.stage = (backend, path, backend.request_stage([path]))
                    f.state, f.start_time = "STAGING", _now()
            job.state = "STAGING" if any(f.state == "STAGING" for f in job.files) else "ACTIVE"

    def _poll_staging(self, job: Job) -> None:
        with self.lock:
            for f in job.files:
                if f.state != "STAGING" or f.stage is None:
                    continue
                backend, path, request = f.stage
                status = backend.poll_stage(request)
                if path in status.online:
                    f.state = "SUBMITTED"
                elif path in status.failed:
                    f.finish("FAILED", f"STAGING [{errno.ENOENT}] {status.failed[path]}")
            if not any(f.state == "STAGING" for f in job.files):
                job.state = "ACTIVE"

    def _next_file(self, job: Job, waiting: tuple[str, ...], action: Any) -> None:
        with self.lock:
            f = next((f for f in job.files if f.state in waiting), None)
            if f is None:
                return
            f.state, f.start_time = ("STARTED" if job.kind == "delete" else "ACTIVE"), _now()
            if job.state in ("SUBMITTED", "DELETE"):
                job.state = "ACTIVE"
        state, reason = action(job, f)
        with self.lock:
            if f.state in ("ACTIVE", "STARTED"):  # not cancelled meanwhile
                f.finish(state, reason)

    def _delete(self, job: Job, f: JobFile) -> tuple[str, str | None]:
        try:
            backend, path = self.resolve(f.source_surl)
            backend.delete(path)
        except StorageError as exc:
            return "FAILED", _reason("DELETION", exc)
        return "FINISHED", None

    def _transfer(self, job: Job, f: JobFile) -> tuple[str, str | None]:
        verify = bool(job.params.get("verify_checksum"))
        expected = _adler32(f.checksum) if verify else None
        phase = "SOURCE"
        try:
            source, source_path = self.resolve(f.source_surl)
            phase = "DESTINATION"
            target, target_path = self.resolve(f.dest_surl)
            phase = "SOURCE"
            if expected is not None:
                actual = source.checksum(source_path)
                if actual != expected:
                    return "FAILED", (
                        f"SOURCE [{errno.EIO}] CHECKSUM MISMATCH User defined checksum and "
                        f"source checksum do not match {expected} != {actual}"
                    )
            phase = "TRANSFER"
            copy_file(
                source,
                source_path,
                target,
                target_path,
                checksum=expected,
                overwrite=bool(job.params.get("overwrite")),
            )
        except ChecksumMismatch as exc:
            return "FAILED", f"DESTINATION [{errno.EIO}] CHECKSUM MISMATCH {exc}"
        except StorageError as exc:
            return "FAILED", _reason(phase, exc)
        return "FINISHED", None


def _adler32(checksum: str | None) -> str | None:
    if not checksum:
        return None
    algorithm, _, value = checksum.partition(":")
    if algorithm.lower() != "adler32" or not value:
        return None
    return value.lower().rjust(8, "0")
