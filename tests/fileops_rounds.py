"""One round of file operations as the server runs them, for end-to-end tests: the manager's
cycle (standalone backend), a worker that empties the queue, and the updater."""

from __future__ import annotations

import uuid

from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.manager import ManagerOptions, run_cycle
from dynamo.fileops.standalone import StandaloneBackend
from dynamo.fileops.updater import run_update
from dynamo.fileops.worker import Worker, WorkerOptions
from dynamo.model import Inventory
from dynamo.storage import StorageBackend
from dynamo.store import SqlInventoryStore

__all__ = ["fileops_round", "unique_root"]


def fileops_round(
    store: SqlInventoryStore, inventory: Inventory, endpoints: Endpoints, now: int, *, seed: int
) -> None:
    """Manager cycle at ``now``, worker until the queue is empty, updater at ``now + 5``."""
    run_cycle(
        store.engine,
        inventory,
        endpoints,
        {"standalone": StandaloneBackend(store.engine, clock=lambda: now)},
        now,
        ManagerOptions(seed=seed),
    )
    Worker(store.engine, endpoints, WorkerOptions(worker_id="e2e", parallel=2)).run(once=True)
    run_update(store, inventory, now=now + 5)


def unique_root(storage: StorageBackend, name: str) -> str:
    """A new directory of ``storage`` for one test (servers are shared by a module)."""
    root = f"/{name}-{uuid.uuid4().hex[:10]}"
    storage.mkdir(root)
    return root
