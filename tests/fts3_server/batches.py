"""Helpers for tests that drive a FileOpBackend: tasks from files, submit, poll to the end."""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from pathlib import Path

from dynamo.fileops.ports import BatchSpec, FileOpBackend, OpKind, TaskResult, TaskSpec
from dynamo.storage import StorageBackend

__all__ = ["adler32", "make_batch", "seed", "submitted", "transfer_task", "wait_results"]


def adler32(data: bytes) -> str:
    """The adler32 of ``data`` as 8 lowercase hex digits."""
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def seed(directory: Path, path: str, data: bytes) -> None:
    """Write ``data`` at site path ``path`` of a posix site rooted at ``directory``."""
    local = directory / path.lstrip("/")
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_bytes(data)


def transfer_task(
    task_id: int, source: StorageBackend, target: StorageBackend, path: str, data: bytes
) -> TaskSpec:
    """A transfer of ``path`` (whose catalogue content is ``data``) from source to target."""
    return TaskSpec(
        task_id=task_id,
        subscription_id=100 + task_id,
        kind=OpKind.TRANSFER,
        lfn=path,
        size=len(data),
        adler32=adler32(data),
        site="B",
        url=target.url(path),
        path=path,
        source_site="A",
        source_url=source.url(path),
        source_path=path,
    )


def make_batch(
    tasks: Sequence[TaskSpec], *, kind: OpKind = OpKind.TRANSFER, is_staging: bool = False
) -> BatchSpec:
    """Batch 7 of these tasks for the fts3 backend."""
    return BatchSpec(
        batch_id=7,
        kind=kind,
        backend="fts3",
        site="B",
        tasks=tuple(tasks),
        source_site=None if kind == OpKind.DELETION else "A",
        is_staging=is_staging,
    )


def submitted(backend: FileOpBackend, batch: BatchSpec) -> BatchSpec:
    """``batch`` submitted, with the external id the backend returned."""
    return BatchSpec(
        batch_id=batch.batch_id,
        kind=batch.kind,
        backend=batch.backend,
        site=batch.site,
        tasks=batch.tasks,
        source_site=batch.source_site,
        is_staging=batch.is_staging,
        external_id=backend.submit(batch),
    )


def wait_results(
    backend: FileOpBackend, batch: BatchSpec, timeout: float = 30.0
) -> dict[int, TaskResult]:
    """Poll until every task of ``batch`` has a result (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    results: dict[int, TaskResult] = {}
    while time.monotonic() < deadline:
        results.update((r.task_id, r) for r in backend.poll(batch))
        if len(results) == len(batch.tasks):
            return results
        time.sleep(0.02)
    raise AssertionError(f"only {len(results)} of {len(batch.tasks)} tasks finished: {results}")
