"""Queue counts and hourly throughput on every backend (integer buckets everywhere)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from dynamo.fileops.ports import OpKind
from dynamo.fileops.stats import queue_counts, throughput
from dynamo.store import SqlInventoryStore
from fileops_data import add_history, add_subscription

NOW = 1_700_005_800  # 50 minutes into the hour that starts at 1_700_002_800


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def engine(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[Engine]:
    store = SqlInventoryStore.open(database_url_factory(str(request.param)), upgrade=True)
    yield store.engine
    store.close()


def test_finished_tasks_fall_in_their_hour(engine: Engine) -> None:
    add_history(engine, finished=NOW - 60, size=10)
    add_history(engine, finished=NOW - 3000, size=20)  # the start of the same hour
    add_history(engine, finished=NOW - 3001, size=40)  # the hour before
    add_history(engine, finished=NOW - 120, status="failed", exit_code=5)
    add_history(engine, finished=NOW - 5 * 86_400)  # outside the window
    add_history(engine, kind="deletion", finished=NOW - 60)
    buckets = throughput(engine, OpKind.TRANSFER, now=NOW, window=6 * 3600)
    assert [b.start for b in buckets] == [1_699_981_200 + i * 3600 for i in range(7)]
    assert [(b.done, b.failed, b.bytes_done) for b in buckets[-2:]] == [(1, 0, 40), (2, 1, 30)]
    assert sum(b.done + b.failed for b in buckets[:-2]) == 0


def test_the_queue_is_counted_by_status(engine: Engine) -> None:
    add_subscription(engine, index=0, status="new")
    add_subscription(engine, index=1, status="held", hold_reason="no_source")
    add_subscription(engine, index=2, status="held", hold_reason="all_failed")
    add_subscription(engine, kind="deletion", index=0, status="new")
    assert queue_counts(engine, OpKind.TRANSFER) == {
        "new": 1,
        "inbatch": 0,
        "retry": 0,
        "held": 2,
        "done": 0,
        "cancelled": 0,
    }
