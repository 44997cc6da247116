"""`dynamo bench fileops`: the file-operations queue at volume, through the in-memory backend.

Enqueues ``count`` transfers (to ``DST``, source ``SRC``) and ``count`` deletions (at
``DEL``) with :func:`dynamo.fileops.subscriptions.subscribe`, then runs manager cycles with
:class:`dynamo.fileops.ports.MemoryFileOpBackend` (every task ends at the next poll; a seeded
``failure_fraction`` fail with a retryable errno and are retried) until nothing is pending.
What is measured is the database work of the manager: picking subscriptions, choosing
sources, writing batches and tasks, collecting results into history and subscriptions.

Figures: subscriptions enqueued per second, and *task-state updates* per second over the
cycles, where each task counts two updates (created as ``new`` in a batch, finished as done,
failed or cancelled); the target (DESIGN "Transfers at scale") is at least 2,000 per second.
``process_cpu_seconds`` is this process's CPU time over the cycles (not the database server's):
on a shared machine it tells how much of the wall time was ours.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.fileops.manager import ManagerOptions, run_cycle
from dynamo.fileops.ports import MemoryFileOpBackend, OpKind
from dynamo.fileops.subscriptions import FileRef, subscribe
from dynamo.model import (
    ChangeSet,
    Inventory,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertGroup,
    UpsertSite,
)
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.fileops import fileop_history, fileop_subscriptions

__all__ = ["bench_fileops"]

_FILES_PER_BLOCK = 1000
_FILE_SIZE = 2_000_000_000
_NOW = 1_700_000_000
_PENDING = ("new", "retry", "inbatch")


def _dataset(index: int) -> str:
    return f"/BenchFileOps{index // 1000:03d}/Run-v1/AOD"


def _refs(count: int) -> list[FileRef]:
    return [
        FileRef(
            lfn=f"/store/bench/{i // _FILES_PER_BLOCK:06d}/{i:09d}.root",
            dataset=_dataset(i // _FILES_PER_BLOCK),
            block=f"b{i // _FILES_PER_BLOCK:06d}",
            size=_FILE_SIZE,
            adler32=f"{i & 0xFFFFFFFF:08x}",
        )
        for i in range(count)
    ]


def _inventory(count: int) -> Inventory:
    """SRC holds every block complete; DST and DEL are empty ready sites."""
    inventory = Inventory()
    blocks = (count + _FILES_PER_BLOCK - 1) // _FILES_PER_BLOCK
    ops: list[Any] = [UpsertGroup(name="bench")]
    ops += [UpsertSite(name=name) for name in ("SRC", "DST", "DEL")]
    datasets = sorted({_dataset(b) for b in range(blocks)})
    ops += [UpsertDataset(name=name) for name in datasets]
    ops += [UpsertDatasetReplica(dataset=name, site="SRC", group="bench") for name in datasets]
    for b in range(blocks):
        files = min(_FILES_PER_BLOCK, count - b * _FILES_PER_BLOCK)
        ops.append(
            UpsertBlock(
                dataset=_dataset(b), name=f"b{b:06d}", size=files * _FILE_SIZE, num_files=files
            )
        )
        ops.append(
            UpsertBlockReplica(dataset=_dataset(b), block=f"b{b:06d}", site="SRC", group="bench")
        )
    inventory.apply(ChangeSet.of(ops))
    return inventory


def bench_fileops(
    url: str,
    *,
    count: int,
    failure_fraction: float = 0.02,
    batch_size: int = 1000,
    per_cycle: int = 100_000,
    seed: int = 0,
    on_cycle: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark on the (empty, migrated on open) database at ``url``; JSON-able
    figures. ``on_cycle(cycle, finished_tasks)`` reports progress."""
    store = SqlInventoryStore.open(url, upgrade=True)
    engine = store.engine
    try:
        inventory = _inventory(count)
        refs = _refs(count)
        started = time.perf_counter()
        with engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, "DST", refs, origin="operator", now=_NOW)
        with engine.begin() as conn:
            subscribe(conn, OpKind.DELETION, "DEL", refs, origin="operator", now=_NOW)
        enqueue_seconds = time.perf_counter() - started
        del refs
        endpoints = Endpoints(
            {
                name: Endpoint(site=name, url=f"memory://{name}", backend="memory")
                for name in ("SRC", "DST", "DEL")
            }
        )
        backend = MemoryFileOpBackend(failure_fraction=failure_fraction, seed=seed, now=_NOW)
        options = ManagerOptions(
            batch_size=batch_size,
            max_subscriptions=per_cycle,
            max_pending_per_site=per_cycle,
            max_pending_per_backend=2 * per_cycle,
            seed=seed,
            take_deletions=False,
        )
        cycles = created = finished = failed = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        while True:
            summary = run_cycle(engine, inventory, endpoints, {"memory": backend}, _NOW, options)
            cycles += 1
            created += summary.tasks_submitted
            finished += summary.done + summary.failed + summary.cancelled
            failed += summary.failed
            if on_cycle is not None:
                on_cycle(cycles, finished)
            if summary.tasks_submitted == 0 and _pending(store) == 0:
                break
        process_seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        with engine.connect() as conn:
            history = conn.execute(select(func.count()).select_from(fileop_history)).scalar_one()
    finally:
        store.close()
    updates = created + finished
    return {
        "database": engine.dialect.name,
        "transfers": count,
        "deletions": count,
        "failure_fraction": failure_fraction,
        "batch_size": batch_size,
        "per_cycle": per_cycle,
        "enqueue_seconds": round(enqueue_seconds, 2),
        "enqueued_per_second": round(2 * count / enqueue_seconds) if enqueue_seconds else None,
        "cycles": cycles,
        "tasks": created,
        "failed_tasks": failed,
        "history_rows": history,
        "process_seconds": round(process_seconds, 2),
        "process_cpu_seconds": round(cpu_seconds, 2),
        "task_state_updates": updates,
        "task_state_updates_per_second": round(updates / process_seconds)
        if process_seconds
        else None,
        "target_per_second": 2000,
    }


def _pending(store: SqlInventoryStore) -> int:
    s = fileop_subscriptions
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(s).where(s.c.status.in_(_PENDING))
            ).scalar_one()
        )
