"""Fixtures of the scheduler tests: a SQLite store holding a small inventory, a scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sched_support import make_scheduler

from doubles import toy_compiler
from dynamo.server.scheduler import Scheduler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import base_ops


@pytest.fixture
def store(tmp_path: Path) -> SqlInventoryStore:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/sched.sqlite", upgrade=True)
    loaded = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), loaded.inventory)
    return store


@pytest.fixture
def service(store: SqlInventoryStore) -> InventoryService:
    return InventoryService.load(store, partition_compiler=toy_compiler)


@pytest.fixture
async def scheduler(
    service: InventoryService, store: SqlInventoryStore, tmp_path: Path
) -> AsyncIterator[Scheduler]:
    scheduler = make_scheduler(service, store, tmp_path / "work")
    await scheduler.start()
    yield scheduler
    await scheduler.stop()
