"""build_database writes the generator's rows into an empty database, on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from dynamo.bench.build import build_database
from dynamo.bench.generator import TABLE_ORDER, InventoryGenerator
from dynamo.bench.loadbench import store_loader
from dynamo.bench.scales import Scale
from dynamo.errors import ConfigurationError
from dynamo.model.changeset import ChangeSet
from dynamo.policy import partition_compiler
from dynamo.store import schema
from dynamo.store.engine import make_engine

MINI = Scale(name="mini", datasets=40, blocks=160, files=800, t1_sites=1, t2_sites=3)


def _expected_counts(seed: int) -> dict[str, int]:
    generator = InventoryGenerator(MINI, seed=seed)
    return {table: sum(1 for _ in generator.rows(table)) for table in TABLE_ORDER}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_a_built_database_holds_every_generated_row_and_one_log_entry(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    url = database_url_factory(backend)
    report = build_database(url, MINI, seed=4)
    assert report.rows == _expected_counts(4)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for table in schema.INVENTORY_TABLES:
                count = conn.execute(select(func.count()).select_from(table)).scalar_one()
                assert count == report.rows[table.name], table.name
            log = conn.execute(select(schema.inventory_log)).all()
    finally:
        engine.dispose()
    assert [row.seq for row in log] == [1]
    assert ChangeSet.from_msgpack(log[0].changeset) == ChangeSet()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_holding_an_inventory_is_refused_unless_forced(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    url = database_url_factory(backend)
    build_database(url, MINI, seed=1, with_files=False)
    with pytest.raises(ConfigurationError, match="--force"):
        build_database(url, MINI, seed=2)
    report = build_database(url, MINI, seed=2, force=True)
    assert report.rows["files"] > 0


def test_the_store_loader_reads_back_what_was_built(
    database_url_factory: Callable[[str], str],
) -> None:
    url = database_url_factory("sqlite")
    report = build_database(url, MINI, seed=9, with_files=False)
    inventory = store_loader(url, partition_compiler())
    counts = inventory.counts()
    assert counts["datasets"] == report.rows["datasets"]
    assert counts["blocks"] == report.rows["blocks"]
    assert counts["dataset_replicas"] == report.rows["dataset_replicas"]
    assert counts["block_replicas"] == report.rows["block_replicas"]
    assert counts["sites"] == MINI.num_sites
    physics = [
        site.partitions[inventory.partitions["Physics"]]
        for site in inventory.sites.values()
        if site.name.endswith("_Disk") or site.name.startswith("T2_")
    ]
    assert any(part.occupancy() > 0.9 for part in physics)
