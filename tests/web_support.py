"""A server with pages over a small real SQLite inventory and a Detox history, for page tests.

The inventory is :func:`unit.model.conftest.base_ops` (T2_US_MIT with AnalysisOps and
DataOpsDisk quotas, a tape site, CMS-like partitions); the history is three Physics cycles
written as Detox writes them (:mod:`detox_history_data`), the last of them a test run; the
file-operation queue and history (:mod:`fileops_data`) and two consistency runs are in the
same database (:func:`operations_rows`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, insert

from detox_history_data import WrittenCycle, write_cycle
from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.consistency import Action, Finding, Kind, record_run
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.schema.dealer import dealer_copies, dealer_cycles
from dynamo.web import install_pages
from fileops_data import add_history, add_subscription
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
    operations_rows(store.engine)
    app = create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=HeaderTestAuthenticator(),
    )
    install_pages(app)
    return app, cycles


HELD_REASON = "all_failed"
HELD_RUN_REASON = "orphan files: 1,204 > 1000; nothing deleted"
DEALER_REJECTION = "no target site with room under its target occupancy"


def operations_rows(engine: Engine) -> dict[str, int]:
    """Queue, history (finished over the last hours, so the day chart has points) and two
    consistency runs, one held; the ids written."""
    now = int(time.time())
    add_subscription(engine, index=0, status="new")
    add_subscription(engine, index=1, status="held", hold_reason=HELD_REASON)
    for hours in range(6):
        add_history(engine, finished=now - hours * 3600 - 60, name=f"/store/h/{hours}.root")
    add_history(engine, finished=now - 120, status="failed", exit_code=5, message="EIO")
    with engine.begin() as conn:
        clean = record_run(
            conn,
            site="T2_US_MIT",
            mode="run",
            status="done",
            reason=None,
            started=now - 500,
            finished=now - 400,
            summary={"listed_files": 1200, "missing": 1, "orphan": 1},
            findings=[
                Finding(kind=Kind.MISSING, path="/store/mc/a.root", action=Action.WAIT),
                Finding(kind=Kind.ORPHAN, path="/store/mc/dark.root", action=Action.DELETE),
            ],
        )
        held = record_run(
            conn,
            site="T1_US_FNAL_MSS",
            mode="run",
            status="held",
            reason=HELD_RUN_REASON,
            started=now - 300,
            finished=now - 200,
            summary={"listed_files": 5000, "orphan": 1204},
            findings=[
                Finding(kind=Kind.ORPHAN, path=f"/store/dark/{n}.root", action=Action.HELD)
                for n in range(3)
            ],
        )
        cycle = conn.execute(
            insert(dealer_cycles).values(
                partition="Physics",
                mode="run",
                status="committed",
                started=now - 900,
                finished=now - 880,
                seed=1,
                summary=json.dumps(
                    {
                        "copies": 1,
                        "volume": 2 * 10**12,
                        "rejected": 1,
                        "rejections": {DEALER_REJECTION: 1},
                        "copies_by_plugin": {"requests": 1},
                    }
                ),
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(dealer_copies),
            [
                {
                    "cycle_id": cycle,
                    "plugin": "requests",
                    "priority": 0,
                    "dataset": "/ZeroBias/Run2018D-PromptReco-v2/AOD",
                    "site": "T2_US_MIT",
                    "group": "AnalysisOps",
                    "size": 2 * 10**12,
                    "reason": "copy request 12",
                    "status": "accepted",
                    "reject_reason": None,
                    "request_id": 12,
                },
                {
                    "cycle_id": cycle,
                    "plugin": "popularity",
                    "priority": 2,
                    "dataset": "/JetHT/Run2018D-PromptReco-v2/MINIAOD",
                    "site": None,
                    "group": None,
                    "size": 9 * 10**12,
                    "reason": "popular: 3 copies wanted",
                    "status": "rejected",
                    "reject_reason": DEALER_REJECTION,
                    "request_id": None,
                },
            ],
        )
    return {"clean_run": clean, "held_run": held, "dealer_cycle": int(cycle)}
