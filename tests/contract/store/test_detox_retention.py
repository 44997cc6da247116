"""Detox history retention on every backend: decisions of old cycles pruned, old cycles gone."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
import pytest
from sqlalchemy import Engine, func, select

from detox_history_data import write_cycle
from dynamo.detox import Retention, prune_history
from dynamo.errors import ConfigurationError
from dynamo.store import make_engine, migrate
from dynamo.store.schema.detox import (
    detox_cycle_sites,
    detox_cycles,
    detox_decisions,
    replica_deletions,
)

DAY = 86_400
NOW = 1_760_000_000


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def engine(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[Engine]:
    url = database_url_factory(str(request.param))
    migrate(url)
    made = make_engine(url)
    yield made
    made.dispose()


def _count(engine: Engine, table, **where: int) -> int:  # type: ignore[no-untyped-def]
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_old_decisions_are_pruned_and_old_cycles_removed(engine: Engine) -> None:
    ages = [400, 30, 20, 10, 5, 1]  # days before NOW, oldest first
    cycles = [write_cycle(engine, started=NOW - age * DAY, seed=n) for n, age in enumerate(ages)]
    planned = write_cycle(engine, started=NOW - 500 * DAY, status="planned", seed=9)
    other = write_cycle(engine, partition="DataOps", started=NOW - 400 * DAY, seed=10)
    removed = prune_history(
        engine, "Physics", now=NOW, retention=Retention(keep_decisions=2, keep_days=365)
    )
    oldest, *kept = cycles
    assert _count(engine, detox_cycles, id=oldest.id) == 0
    assert _count(engine, detox_cycle_sites, cycle_id=oldest.id) == 0
    assert _count(engine, replica_deletions, cycle_id=oldest.id) == 0
    with engine.connect() as conn:
        orphaned = conn.execute(
            select(func.count())
            .select_from(replica_deletions)
            .where(replica_deletions.c.cycle_id.is_(None))
        ).scalar_one()
    assert orphaned == len(oldest.deletions)  # the queued deletions stay
    for cycle in kept[:-2]:
        assert _count(engine, detox_decisions, cycle_id=cycle.id) == 0
        assert _count(engine, detox_cycle_sites, cycle_id=cycle.id) == len(cycle.sites)
    for cycle in kept[-2:]:
        assert _count(engine, detox_decisions, cycle_id=cycle.id) == len(cycle.decisions)
    assert removed == {
        "cycles": 1,
        "decisions": sum(len(c.decisions) for c in kept[:-2]),
    }
    with engine.connect() as conn:
        summary = conn.execute(
            select(detox_cycles.c.summary).where(detox_cycles.c.id == kept[0].id)
        ).scalar_one()
    assert orjson.loads(summary)["decisions_pruned"] is True
    # a planned cycle and another partition's cycles are left alone
    assert _count(engine, detox_cycles, id=planned.id) == 1
    assert _count(engine, detox_decisions, cycle_id=other.id) == len(other.decisions)
    again = prune_history(
        engine, "Physics", now=NOW, retention=Retention(keep_decisions=2, keep_days=365)
    )
    assert again == {"cycles": 0, "decisions": 0}


def test_retention_reads_its_table_and_names_bad_values() -> None:
    assert Retention.from_table({}) == Retention(keep_decisions=42, keep_days=365)
    assert Retention.from_table({"keep_decisions": 6}).keep_decisions == 6
    with pytest.raises(ConfigurationError, match="keep_days = 0: an integer >= 1"):
        Retention.from_table({"keep_days": 0})
    with pytest.raises(ConfigurationError, match="unknown keys"):
        Retention.from_table({"keep": 1})
