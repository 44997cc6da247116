"""`dynamo bench replication` on both shared databases, at a small load."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dynamo.bench.replication import bench_replication
from dynamo.errors import ConfigurationError


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_every_changeset_reaches_the_follower_and_its_lag_is_reported(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    report = bench_replication(database_url_factory(backend), rate=50, seconds=1, writers=4)
    assert report["changesets"] == 50
    assert report["applied"] == 50
    assert 0 < report["transactions"] <= 50
    per_transaction = report["changesets_per_transaction"]
    assert per_transaction == pytest.approx(50 / report["transactions"], abs=0.06)  # rounded to 0.1
    lag = report["lag_ms"]
    assert 0 <= lag["p50"] <= lag["p95"] <= lag["p99"] <= lag["max"]
    commit = report["commit_ms"]
    assert 0 <= commit["p50"] <= commit["max"]
    assert report["replay_rate"] > 0


def test_sqlite_is_refused(database_url_factory: Callable[[str], str]) -> None:
    with pytest.raises(ConfigurationError, match="PostgreSQL or MariaDB"):
        bench_replication(database_url_factory("sqlite"), rate=10, seconds=1)
