"""``copy_requests`` and ``tape_requests`` flag the datasets of the open copy requests."""

from __future__ import annotations

import pytest

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory
from dynamo.policy import Attributes
from dynamo.producers import ProducerSources, build_producers
from dynamo.producers.copy_requests import (
    TAPE_COPY_REQUESTED,
    UNHANDLED_COPY_EXISTS,
    CopyRequestProducer,
    TapeRequestProducer,
)
from dynamo.producers.locks import LockProducer
from dynamo.registry import MemoryRegistryStore
from producers_data import (
    LOCKED_REPLICAS,
    TAPE_REQUESTED,
    UNHANDLED,
    fill_registry,
    locked_replicas,
    producers_inventory,
)
from unit.policy.builders import NOW


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    return producers_inventory()


@pytest.fixture(scope="module")
def registry() -> MemoryRegistryStore:
    registry = MemoryRegistryStore()
    fill_registry(registry)
    return registry


def flagged(attributes: Attributes, attribute: str) -> set[str]:
    values = attributes.dataset.get(attribute, {})
    assert all(value is True for value in values.values())
    return set(values)


def test_new_and_activated_copy_requests_flag_their_datasets(
    inventory: Inventory, registry: MemoryRegistryStore
) -> None:
    attributes = Attributes()
    CopyRequestProducer(registry).load(inventory, attributes, NOW)
    assert flagged(attributes, UNHANDLED_COPY_EXISTS) == UNHANDLED


def test_only_open_copy_requests_to_a_tape_site_flag_a_tape_copy(
    inventory: Inventory, registry: MemoryRegistryStore
) -> None:
    attributes = Attributes()
    TapeRequestProducer(registry).load(inventory, attributes, NOW)
    assert flagged(attributes, TAPE_COPY_REQUESTED) == TAPE_REQUESTED


def test_the_same_registry_locks_the_covered_replicas(
    inventory: Inventory, registry: MemoryRegistryStore
) -> None:
    attributes = Attributes()
    LockProducer(registry).load(inventory, attributes, NOW)
    assert locked_replicas(inventory, attributes) == LOCKED_REPLICAS


@pytest.mark.parametrize("name", ["copy_requests", "tape_requests", "locks"])
def test_registry_producers_take_no_keys_and_need_a_database(name: str) -> None:
    with pytest.raises(ConfigurationError, match="unknown key"):
        build_producers({name: {"registry": "x"}}, ProducerSources())
    with pytest.raises(ConfigurationError, match="reads the database"):
        build_producers({name: {}}, ProducerSources())
