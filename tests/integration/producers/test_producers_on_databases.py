"""The registry producers read the SQL registry on every backend, and feed the Physics policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from dynamo.model import Inventory
from dynamo.policy import Attributes, EvaluationContext, compile_policy, parse_policy
from dynamo.producers import (
    ProducerSources,
    build_producers,
    check_policy_producers,
    default_producer_config,
)
from dynamo.store import make_engine, migrate
from dynamo.store.registry import SqlRegistryStore
from producers_data import (
    DESY,
    ENFORCED,
    LOCKED,
    LOCKED_REPLICAS,
    MIT,
    NEW,
    TAPE_REQUESTED,
    TO_TAPE,
    UNHANDLED,
    ensure_popularity,
    fill_registry,
    locked_replicas,
    producers_inventory,
)
from unit.policy.builders import NOW, POLICIES

PHYSICS = POLICIES / "detox" / "Physics.txt"


@pytest.fixture(params=("sqlite", "postgresql", "mysql"))
def engine(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[Engine]:
    """A migrated database on each backend whose registry holds :func:`fill_registry`."""
    url = database_url_factory(str(request.param))
    migrate(url)
    engine = make_engine(url)
    fill_registry(SqlRegistryStore(engine))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return producers_inventory()


def test_registry_producers_read_locks_and_open_copy_requests_from_the_database(
    engine: Engine, inventory: Inventory
) -> None:
    config: dict[str, dict[str, object]] = {"locks": {}, "copy_requests": {}, "tape_requests": {}}
    attributes = Attributes()
    for producer in build_producers(config, ProducerSources(engine=engine)):
        producer.load(inventory, attributes, NOW)
    assert locked_replicas(inventory, attributes) == LOCKED_REPLICAS
    assert set(attributes.dataset["unhandled_copy_exists"]) == UNHANDLED
    assert set(attributes.dataset["tape_copy_requested"]) == TAPE_REQUESTED


def test_the_physics_policy_protects_what_the_default_producers_found(
    engine: Engine, inventory: Inventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_popularity(monkeypatch)
    config = default_producer_config()
    config["enforcer"] = {"rules": "common/enforcer_rules_physics.json"}
    producers = build_producers(config, ProducerSources(engine=engine, base_dir=POLICIES))
    text = PHYSICS.read_text()
    policy = parse_policy(text, file=PHYSICS.name)
    check_policy_producers(policy, producers, file=PHYSICS.name)
    attributes = Attributes()
    for producer in producers:
        producer.load(inventory, attributes, NOW)
    compiled = compile_policy(policy, now=NOW)
    ctx = EvaluationContext(
        now=NOW, attributes=attributes, partition=inventory.partitions["Physics"]
    )
    lines = text.splitlines()

    def first_line(dataset: str, site: str) -> str:
        replica = inventory.sites[site].dataset_replicas[inventory.datasets[dataset]]
        return lines[compiled.evaluate(replica, ctx)[0].line.number - 1]

    assert first_line(LOCKED, DESY) == "ProtectBlock blockreplica.is_locked"
    assert first_line(LOCKED, MIT) == "ProtectBlock blockreplica.is_locked"
    assert first_line(NEW, MIT) == "Protect dataset.unhandled_copy_exists"
    assert first_line(TO_TAPE, DESY) == "Protect dataset.unhandled_copy_exists"
    assert first_line(ENFORCED, MIT) == "Protect replica.enforcer_protected"
    assert first_line(ENFORCED, DESY) != "Protect replica.enforcer_protected"
