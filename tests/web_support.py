"""A server with pages over a small real SQLite inventory and a Detox history, for page tests.

The inventory is :func:`unit.model.conftest.base_ops` (T2_US_MIT with AnalysisOps and
DataOpsDisk quotas, a tape site, CMS-like partitions); the history is three Physics cycles
written as Detox writes them (:mod:`detox_history_data`), the last of them a test run.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from detox_history_data import WrittenCycle, write_cycle
from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.web import install_pages
from unit.model.conftest import base_ops

DAY = 86_400


def history_app(directory: Path) -> tuple[FastAPI, list[WrittenCycle]]:
    """The app (API and pages) and the cycles written, oldest first."""
    store = SqlInventoryStore.open(f"sqlite:///{directory}/pages.sqlite", upgrade=True)
    service = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), service.inventory)
    cycles = [
        write_cycle(store.engine, started=1_700_000_000 + n * DAY, seed=n + 1, **extra)
        for n, extra in enumerate([{}, {}, {"mode": "test", "status": "test"}])
    ]
    app = create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=HeaderTestAuthenticator(),
    )
    install_pages(app)
    return app, cycles
