"""`dynamo bench generate` writes access records and replica locks; `bench extras` redoes them.

One XS inventory (no files) is generated per module into SQLite; smaller builds cover the
server backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from dynamo.bench.build import build_database
from dynamo.bench.extras import ACCESSED_SHARE, LOCKED_SHARE, write_extras
from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.loadbench import store_loader
from dynamo.bench.scales import SCALES, Scale
from dynamo.cli.main import app
from dynamo.errors import ConfigurationError
from dynamo.policy import Attributes, partition_compiler
from dynamo.policy.attributes import NUM_ACCESS, USAGE_RANK
from dynamo.producers.locks import LockProducer
from dynamo.producers.popularity import PopularityProducer
from dynamo.registry import LockQuery
from dynamo.store import make_engine, schema
from dynamo.store.popularity import DAY, SqlPopularityStore
from dynamo.store.registry import SqlRegistryStore
from dynamo.store.schema.detox import popularity_accesses
from dynamo.store.schema.registry import replica_locks

XS = SCALES["xs"]
MINI = Scale(name="mini", datasets=400, blocks=1_600, files=8_000, t1_sites=1, t2_sites=5)


@pytest.fixture(scope="module")
def xs_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('extras') / 'xs.db'}"
    report = build_database(url, XS, seed=5, with_files=False)
    assert report.extras is not None
    assert set(report.extras.rows) == {"popularity_accesses", "replica_locks"}
    return url


@pytest.fixture
def engine(xs_url: str) -> Iterator[Engine]:
    engine = make_engine(xs_url)
    yield engine
    engine.dispose()


def rows(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]


def count(engine: Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_about_forty_percent_of_datasets_have_accesses_within_two_years(engine: Engine) -> None:
    accesses = rows(engine, popularity_accesses)
    datasets = {row[1] for row in accesses}
    assert abs(len(datasets) / XS.datasets - ACCESSED_SHARE) < 0.05
    days = {row[3] for row in accesses}
    assert all(day % DAY == 0 for day in days)
    assert min(days) >= REFERENCE_TIME - 729 * DAY
    assert max(days) <= REFERENCE_TIME
    assert all(row[4] >= 1 and row[5] >= 0 for row in accesses)


def test_accesses_are_at_disk_sites_holding_the_dataset(engine: Engine) -> None:
    d, dr, s, p = schema.datasets, schema.dataset_replicas, schema.sites, popularity_accesses
    elsewhere = (
        select(func.count())
        .select_from(p)
        .where(
            ~select(dr.c.dataset_id)
            .join(d, d.c.id == dr.c.dataset_id)
            .join(s, s.c.id == dr.c.site_id)
            .where(d.c.name == p.c.dataset, s.c.name == p.c.site, s.c.storage_type == 1)
            .exists()
        )
    )
    assert count(engine, elsewhere) == 0


def test_counts_are_heavy_tailed(engine: Engine) -> None:
    totals = sorted(
        (total for _, _, total in SqlPopularityStore(engine).summary(since=0)), reverse=True
    )
    top = sum(totals[: XS.datasets // 100])
    assert top > 0.3 * sum(totals)
    assert totals[len(totals) // 2] < totals[0] / 100


def test_a_few_replicas_are_locked_in_every_form_until_after_the_reference_time(
    engine: Engine,
) -> None:
    locks = SqlRegistryStore(engine).find_locks(LockQuery(), REFERENCE_TIME)
    disk = count(
        engine,
        select(func.count())
        .select_from(schema.dataset_replicas)
        .join(schema.sites, schema.sites.c.id == schema.dataset_replicas.c.site_id)
        .where(schema.sites.c.storage_type == 1),
    )
    assert 0.2 * LOCKED_SHARE * disk <= len(locks) <= 3 * LOCKED_SHARE * disk
    assert all(lock.is_active(REFERENCE_TIME) for lock in locks)
    assert all(lock.created < REFERENCE_TIME for lock in locks)
    forms = {
        "dataset": [lock for lock in locks if "#" not in lock.item and lock.sites is None],
        "block": [lock for lock in locks if "#" in lock.item],
        "pattern": [lock for lock in locks if lock.sites and lock.sites.endswith("*")],
    }
    assert all(forms.values()), {name: len(found) for name, found in forms.items()}
    with engine.connect() as conn:
        names = set(conn.scalars(select(schema.datasets.c.name)))
        query = select(schema.datasets.c.name, schema.blocks.c.name).join(
            schema.datasets, schema.datasets.c.id == schema.blocks.c.dataset_id
        )
        blocks = {(dataset, block) for dataset, block in conn.execute(query)}
    for lock in locks:
        dataset, _, block = lock.item.partition("#")
        assert dataset in names
        assert not block or (dataset, block) in blocks


def test_the_producers_read_what_was_generated(xs_url: str, engine: Engine) -> None:
    inventory = store_loader(xs_url, partition_compiler(now=REFERENCE_TIME))
    attributes = Attributes()
    PopularityProducer(SqlPopularityStore(engine)).load(inventory, attributes, REFERENCE_TIME)
    LockProducer(SqlRegistryStore(engine)).load(inventory, attributes, REFERENCE_TIME)
    accessed = attributes.dataset[NUM_ACCESS]
    assert abs(len(accessed) / XS.datasets - ACCESSED_SHARE) < 0.05
    assert len(attributes.dataset[USAGE_RANK]) == XS.datasets
    assert attributes.num_locks > 0


def test_extras_again_with_replace_write_the_same_rows(engine: Engine) -> None:
    before = rows(engine, popularity_accesses), rows(engine, replica_locks)
    with pytest.raises(ConfigurationError, match="--force"):
        write_extras(engine, scale=XS, seed=5)
    report = write_extras(engine, scale=XS, seed=5, replace=True)
    assert report.rows == {"popularity_accesses": len(before[0]), "replica_locks": len(before[1])}
    after_accesses = [row[1:] for row in rows(engine, popularity_accesses)]
    assert sorted(after_accesses) == sorted(row[1:] for row in before[0])
    assert rows(engine, replica_locks) == before[1]


def test_another_seed_writes_other_rows(engine: Engine) -> None:
    before = {row[1:4] for row in rows(engine, popularity_accesses)}
    write_extras(engine, scale=XS, seed=6, replace=True)
    assert {row[1:4] for row in rows(engine, popularity_accesses)} != before
    write_extras(engine, scale=XS, seed=5, replace=True)


def test_bench_extras_on_a_generated_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'mini.db'}"
    build_database(db, MINI, seed=1, with_files=False)
    runner = CliRunner()
    refused = runner.invoke(app, ["bench", "extras", "--db", db, "--scale", "xs", "--seed", "1"])
    assert refused.exit_code == 2
    assert "--force" in refused.output
    arguments = ["bench", "extras", "--db", db, "--scale", "xs", "--seed", "1", "--force"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "popularity_accesses" in result.stdout
    assert "datasets accessed" in result.stdout


def test_extras_need_an_inventory(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(app, ["bench", "extras", "--db", db])
    assert result.exit_code == 2
    assert "error[schema_version]" in result.output


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_generate_writes_extras_on_the_server_backends(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    url = database_url_factory(backend)
    report = build_database(url, MINI, seed=2, with_files=False)
    assert report.extras is not None
    engine = make_engine(url)
    try:
        written = rows(engine, popularity_accesses)
        assert len(written) == report.extras.rows["popularity_accesses"] > 0
        assert len(rows(engine, replica_locks)) == report.extras.rows["replica_locks"]
    finally:
        engine.dispose()
