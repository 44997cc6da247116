"""The default producers load every standing Physics policy attribute; a missing one is named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from dynamo.errors import ConfigurationError
from dynamo.policy import Attributes, DetoxPolicy, StaticProducer, parse_policy
from dynamo.producers import (
    PRODUCERS,
    ProducerSources,
    build_producers,
    check_policy_producers,
    default_producer_config,
)
from producers_data import ensure_popularity
from unit.policy.builders import POLICIES

PHYSICS = POLICIES / "detox" / "Physics.txt"


@pytest.fixture(autouse=True)
def popularity(monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_popularity(monkeypatch)


@pytest.fixture
def sources() -> Iterator[ProducerSources]:
    engine = create_engine("sqlite://")
    yield ProducerSources(engine=engine, base_dir=POLICIES)
    engine.dispose()


@pytest.fixture(scope="module")
def physics() -> DetoxPolicy:
    return parse_policy(PHYSICS.read_text(), file=PHYSICS.name)


def line_of(text: str) -> int:
    return PHYSICS.read_text().splitlines().index(text) + 1


def test_every_default_producer_is_registered() -> None:
    assert set(default_producer_config()) <= set(PRODUCERS)


def test_the_physics_policy_loads_with_the_default_producers(
    physics: DetoxPolicy, sources: ProducerSources
) -> None:
    producers = build_producers(default_producer_config(), sources)
    check_policy_producers(physics, producers, file=PHYSICS.name)


def test_the_default_config_is_a_new_dict_each_time() -> None:
    config = default_producer_config()
    config["enforcer"]["rules"] = "x.json"
    assert default_producer_config()["enforcer"] == {}


@pytest.mark.parametrize(
    ("missing", "variable", "line"),
    [
        ("enforcer", "replica.enforcer_protected", "Protect replica.enforcer_protected"),
        ("locks", "blockreplica.is_locked", "ProtectBlock blockreplica.is_locked"),
        ("copy_requests", "dataset.unhandled_copy_exists", "Protect dataset.unhandled_copy_exists"),
        (
            "tape_requests",
            "dataset.tape_copy_requested",
            "ProtectBlock dataset.tape_copy_requested and not blockreplica.on_tape",
        ),
        (
            "protected_sites",
            "dataset.on_protected_site",
            "Protect dataset.on_protected_site and replica.num_full_other_copy_common_owner < 1",
        ),
    ],
)
def test_a_missing_producer_fails_the_physics_policy_naming_variable_line_and_producer(
    physics: DetoxPolicy, sources: ProducerSources, missing: str, variable: str, line: str
) -> None:
    config = default_producer_config()
    del config[missing]
    producers = build_producers(config, sources)
    with pytest.raises(ConfigurationError) as caught:
        check_policy_producers(physics, producers, file=PHYSICS.name)
    message = str(caught.value)
    assert message.startswith(f"Physics.txt:{line_of(line)}: the policy uses {variable},")
    assert message.endswith(f"configure producer {missing!r}")


def test_block_age_is_not_needed_by_the_physics_policy(
    physics: DetoxPolicy, sources: ProducerSources
) -> None:
    config = default_producer_config()
    del config["block_age"]
    check_policy_producers(physics, build_producers(config, sources), file=PHYSICS.name)


def test_two_producers_of_one_attribute_are_refused(
    physics: DetoxPolicy, sources: ProducerSources
) -> None:
    producers = build_producers(default_producer_config(), sources)
    producers.append(StaticProducer(Attributes(), frozenset({"enforcer_protected"})))
    with pytest.raises(ConfigurationError, match="has several producers"):
        check_policy_producers(physics, producers, file=PHYSICS.name)
