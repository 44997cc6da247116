"""The ``popularity`` producer: accesses over the window, last access, CMS's usage rank."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory
from dynamo.policy import (
    Attributes,
    EvaluationContext,
    Frame,
    compile_condition,
    parse_condition,
    parse_policy,
)
from dynamo.policy.attributes import LAST_ACCESS, NUM_ACCESS, USAGE_RANK
from dynamo.producers import ProducerSources, build_producers, check_policy_producers
from dynamo.producers.popularity import PopularityProducer, last_block_created, usage_rank
from dynamo.store import make_engine, migrate
from dynamo.store.popularity import AccessRecord, MemoryPopularityStore, SqlPopularityStore
from popularity_data import DATASET_NAMES
from unit.policy.builders import DAY, GB, NOW, POLICIES, Builder

TODAY = NOW - NOW % DAY
POPULAR, QUIET, FRESH, UNUSED = (
    next(n for n in DATASET_NAMES if n.endswith(tier))
    for tier in ("/MINIAOD", "/AOD", "/MINIAODSIM", "/RAW")
)
MIT, DESY = "T2_US_MIT", "T2_DE_DESY"


def on(dataset: str, site: str, days_ago: int, count: int) -> AccessRecord:
    return AccessRecord(dataset, site, TODAY - days_ago * DAY, count, 0.5 * count)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    """Two 1 GB blocks each; replicas last updated 300 days ago, FRESH's 10 days ago."""
    b = Builder().site(MIT).site(DESY)
    for name in (POPULAR, QUIET, UNUSED):
        b.dataset(name, age_days=400).replica(name, MIT)
    b.dataset(FRESH, age_days=500).replica(FRESH, DESY, age_days=10)
    return b.build()


@pytest.fixture
def store() -> MemoryPopularityStore:
    memory = MemoryPopularityStore()
    memory.record(
        [
            on(POPULAR, MIT, 1, 300),
            on(POPULAR, DESY, 3, 100),
            on(POPULAR, MIT, 700, 40),
            on(POPULAR, MIT, 800, 1000),  # outside the two years
            on(QUIET, MIT, 600, 2),
            on("/Deleted/Run2016B-v1/AOD", MIT, 1, 99),  # not in the inventory
        ]
    )
    return memory


def produce(inventory: Inventory, store: MemoryPopularityStore, **options: object) -> Attributes:
    attributes = Attributes()
    PopularityProducer(store, **options).load(inventory, attributes, NOW)  # type: ignore[arg-type]
    return attributes


def test_num_access_sums_every_site_over_the_last_two_years(
    inventory: Inventory, store: MemoryPopularityStore
) -> None:
    counts = produce(inventory, store).dataset[NUM_ACCESS]
    assert counts == {POPULAR: 440, QUIET: 2}


def test_a_shorter_window_counts_fewer_days(
    inventory: Inventory, store: MemoryPopularityStore
) -> None:
    counts = produce(inventory, store, window_days=30).dataset[NUM_ACCESS]
    assert counts == {POPULAR: 400}


def test_last_access_is_the_last_day_or_a_later_update_as_cms_did(
    inventory: Inventory, store: MemoryPopularityStore
) -> None:
    lasts = produce(inventory, store).dataset[LAST_ACCESS]
    updated = NOW - 400 * DAY
    assert lasts == {
        POPULAR: TODAY - DAY,
        QUIET: updated,  # its access 600 days ago is older than its last update
        UNUSED: updated,
        FRESH: NOW - 500 * DAY,
    }


def test_last_access_can_be_the_recorded_accesses_alone(
    inventory: Inventory, store: MemoryPopularityStore
) -> None:
    lasts = produce(inventory, store, last_access_includes_update=False).dataset[LAST_ACCESS]
    assert lasts == {POPULAR: TODAY - DAY, QUIET: TODAY - 600 * DAY}


def test_the_usage_rank_is_days_since_the_last_change_minus_accesses_per_gb(
    inventory: Inventory, store: MemoryPopularityStore
) -> None:
    ranks = produce(inventory, store).dataset[USAGE_RANK]
    since_update = 300.0  # the replicas' blocks arrived 300 days ago, after the last update
    assert ranks[UNUSED] == pytest.approx(since_update)
    assert ranks[QUIET] == pytest.approx(since_update - 2 / 2)
    assert ranks[FRESH] == pytest.approx(10.0)  # its replica's blocks arrived 10 days ago
    days_since_access = (NOW - (TODAY - DAY)) / DAY
    assert ranks[POPULAR] == pytest.approx(days_since_access - 440 / 2)
    assert max(ranks, key=ranks.__getitem__) == UNUSED  # `Order decreasing`: deleted first


def test_without_any_record_every_dataset_has_zero_accesses(inventory: Inventory) -> None:
    attributes = produce(inventory, MemoryPopularityStore())
    assert attributes.dataset[NUM_ACCESS] == {}
    assert set(attributes.dataset[USAGE_RANK]) == set(inventory.datasets)
    text = "replica.num_access == 0 and dataset.usage_rank > 100"
    holds = compile_condition(parse_condition(text), NOW)
    context = EvaluationContext(now=NOW, attributes=attributes)
    replicas = inventory.iter_dataset_replicas()
    matched = {r.dataset.name for r in replicas if holds(Frame.of_replica(context, r), None)}
    assert matched == {POPULAR, QUIET, UNUSED}


def test_a_reused_container_keeps_no_value_of_an_earlier_load(
    inventory: Inventory, store: MemoryPopularityStore
) -> None:
    attributes = Attributes()
    PopularityProducer(store).load(inventory, attributes, NOW)
    PopularityProducer(MemoryPopularityStore()).load(inventory, attributes, NOW)
    assert attributes.dataset[NUM_ACCESS] == {}


@pytest.mark.parametrize(
    ("kwargs", "rank"),
    [
        ({"now": 10 * DAY, "last_change": 0, "num_access": 0, "size": 0}, 10.0),
        ({"now": 10 * DAY, "last_change": 4 * DAY, "num_access": 30, "size": 3 * GB}, -4.0),
        ({"now": DAY, "last_change": 0, "num_access": 5, "size": 0}, 1.0),
        ({"now": 0, "last_change": DAY // 2, "num_access": 0, "size": GB}, -0.5),
    ],
)
def test_usage_rank_values(kwargs: Mapping[str, int], rank: float) -> None:
    assert usage_rank(**kwargs) == pytest.approx(rank)


def test_last_block_created_is_the_newest_block_replica(inventory: Inventory) -> None:
    assert last_block_created(inventory.datasets[FRESH]) == NOW - 10 * DAY


def test_the_producer_is_built_by_name_on_the_store_database(
    inventory: Inventory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'popularity.db'}"
    migrate(url)
    engine = make_engine(url)
    SqlPopularityStore(engine).record([on(POPULAR, MIT, 2, 8)])
    (producer,) = build_producers({"popularity": {}}, ProducerSources(engine=engine))
    attributes = Attributes()
    producer.load(inventory, attributes, NOW)
    assert attributes.dataset[NUM_ACCESS] == {POPULAR: 8}
    engine.dispose()


def test_the_physics_policy_loads_with_the_popularity_producer(tmp_path: Path) -> None:
    path = POLICIES / "detox" / "Physics.txt"
    policy = parse_policy(path.read_text(), file=str(path))
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    config = {name: {} for name in ("popularity", "locks", "enforcer", "copy_requests")}
    config["protected_sites"] = {"sites": []}
    config["tape_requests"] = {}
    config["block_age"] = {}
    check_policy_producers(policy, build_producers(config, ProducerSources(engine=engine)))
    engine.dispose()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"window": 30}, "unknown key"),
        ({"window_days": "730"}, "'window_days' must be an integer"),
        ({"window_days": True}, "'window_days' must be an integer"),
        ({"window_days": 0}, "must be 1 to 36500, not 0"),
        ({"last_access_includes_update": "yes"}, "must be true or false"),
    ],
)
def test_bad_configuration_names_the_key(config: Mapping[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_producers({"popularity": config}, ProducerSources(engine=None))


def test_the_producer_needs_a_database() -> None:
    with pytest.raises(ConfigurationError, match="reads the database"):
        build_producers({"popularity": {}}, ProducerSources())
