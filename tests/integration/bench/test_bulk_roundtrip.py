"""bulk_insert writes rows exactly, on every backend, and the id sequences continue after them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, insert, inspect, select

from dynamo.store import schema
from dynamo.store.bulk import (
    bulk_insert,
    drop_secondary_indexes,
    reset_id_sequences,
    restore_secondary_indexes,
)
from dynamo.store.engine import make_engine
from dynamo.store.migration import migrate

BACKENDS = ("sqlite", "postgresql", "mysql")
AWKWARD = ("tab\there", "back\\slash", "new\nline", "carriage\rreturn", "ünïcødé ✓", "\\N")


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]) -> Any:
    url = database_url_factory(request.param)
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _rows(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        order = list(table.primary_key.columns)
        return [tuple(row) for row in conn.execute(select(table).order_by(*order))]


def test_rows_with_awkward_strings_nulls_and_booleans_come_back_exactly(engine: Engine) -> None:
    groups = [(i + 1, name, 2) for i, name in enumerate(AWKWARD)]
    sites = [(1, "T2_US_MIT", "", 1, "", 1), (2, "T1_US_FNAL_MSS", "host\tx", 2, "a\\b", 1)]
    datasets = [
        (1, "/A/B-v1/AOD", 6, 5, None, 1_500_000_000, False),
        (2, "/C/D-v2/MINIAODSIM", 5, 7, "10.6.4.patch1", 1_581_552_000, True),
    ]
    blocks = [(1, 1, "2b997cea-0df7-11e1-9b6c-003048caaace", 10**13, 20_000, True, 1)]
    replicas = [(1, 1, None, False, None, None, 5), (1, 2, 1, True, 123, 4, 6)]
    progress: list[int] = []
    with engine.begin() as conn:
        assert (
            bulk_insert(conn, schema.groups, groups, batch_rows=4, on_progress=progress.append) == 6
        )
        bulk_insert(conn, schema.sites, sites)
        bulk_insert(conn, schema.datasets, iter(datasets))
        bulk_insert(conn, schema.blocks, blocks)
        bulk_insert(conn, schema.block_replicas, replicas)
    assert progress == [4, 2]
    assert _rows(engine, schema.groups) == groups
    assert _rows(engine, schema.sites) == sites
    assert _rows(engine, schema.datasets) == datasets
    assert _rows(engine, schema.blocks) == blocks
    assert _rows(engine, schema.block_replicas) == replicas


def test_new_ids_continue_after_the_bulk_loaded_ones(engine: Engine) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, schema.groups, [(1, "AnalysisOps", 2), (7, "DataOps", 2)])
        reset_id_sequences(conn, schema.INVENTORY_TABLES)
    with engine.begin() as conn:
        new_id = conn.execute(
            insert(schema.groups).values(name="RelVal", olevel=2).returning(schema.groups.c.id)
            if engine.dialect.name != "mysql"
            else insert(schema.groups).values(name="RelVal", olevel=2)
        )
        found = new_id.scalar_one() if engine.dialect.name != "mysql" else new_id.lastrowid
    assert found == 8


def _schema_of(engine: Engine) -> dict[str, Any]:
    inspector = inspect(engine)
    described: dict[str, Any] = {}
    for table in schema.INVENTORY_TABLES:
        described[table.name] = (
            sorted(str(sorted(i.items())) for i in inspector.get_indexes(table.name)),
            sorted(str(sorted(u.items())) for u in inspector.get_unique_constraints(table.name)),
            sorted(str(sorted(f.items())) for f in inspector.get_foreign_keys(table.name)),
        )
    return described


def test_dropping_and_restoring_indexes_gives_back_the_same_schema(engine: Engine) -> None:
    before = _schema_of(engine)
    with engine.begin() as conn:
        dropped = drop_secondary_indexes(conn, schema.INVENTORY_TABLES)
    if engine.dialect.name == "postgresql":
        assert dropped.statements
        assert not inspect(engine).get_foreign_keys("block_replicas")
    else:
        assert dropped.statements == ()
    with engine.begin() as conn:
        restore_secondary_indexes(conn, dropped)
    assert _schema_of(engine) == before
