"""``block_age``: seconds behind the newest block replica (of the inventory, or of the replica)."""

from __future__ import annotations

import pytest

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory
from dynamo.policy import (
    Attributes,
    Context,
    EvaluationContext,
    Frame,
    compile_condition,
    parse_condition,
)
from dynamo.policy.attributes import AGE_RELATIVE_TO_NEWEST
from dynamo.producers import ProducerSources, build_producers
from dynamo.producers.relative_age import (
    BlockAgeProducer,
    BlockAges,
    newest_per_replica,
    newest_update,
)
from unit.policy.builders import DAY, NOW, Builder, block_name, replica_of

A, B = "/A/X-v1/AOD", "/B/X-v1/AOD"
MIT, DESY = "T2_US_MIT", "T2_DE_DESY"


def world() -> Inventory:
    b = Builder().site(MIT).site(DESY)
    b.dataset(A, blocks=3).dataset(B, blocks=1)
    b.replica(A, MIT, block_ages={0: 10, 1: 5, 2: 2}).replica(A, DESY, blocks=[0], age_days=8)
    b.replica(B, DESY, age_days=1)
    return b.build()


def ages(inventory: Inventory, relative_to: str) -> dict[tuple[str, int, str], object]:
    (producer,) = build_producers({"block_age": {"relative_to": relative_to}}, ProducerSources())
    attributes = Attributes()
    producer.load(inventory, attributes, NOW)
    values = attributes.block[AGE_RELATIVE_TO_NEWEST]
    return {
        (br.block.dataset.name, int(br.block.name[-12:]), br.site.name): values.get(
            (br.block.dataset.name, br.block.name, br.site.name), "missing"
        )
        for br in inventory.iter_block_replicas()
    }


def test_by_default_ages_are_relative_to_the_newest_block_replica_of_the_inventory() -> None:
    assert ages(world(), "inventory") == {
        (A, 0, MIT): 9 * DAY,
        (A, 1, MIT): 4 * DAY,
        (A, 2, MIT): 1 * DAY,
        (A, 0, DESY): 7 * DAY,
        (B, 0, DESY): 0,
    }


def test_ages_can_be_relative_to_the_newest_block_replica_of_the_same_replica() -> None:
    assert ages(world(), "replica") == {
        (A, 0, MIT): 8 * DAY,
        (A, 1, MIT): 3 * DAY,
        (A, 2, MIT): 0,
        (A, 0, DESY): 0,
        (B, 0, DESY): 0,
    }


def test_the_policy_variable_reads_the_ages() -> None:
    inventory = world()
    attributes = Attributes()
    BlockAgeProducer().load(inventory, attributes, NOW)
    condition = parse_condition(
        f"blockreplica.age_relative_to_newest > {3 * DAY}", context=Context.REPLICA
    )
    pred = compile_condition(condition, NOW)
    frame = Frame.of_replica(
        EvaluationContext(now=NOW, attributes=attributes), replica_of(inventory, A, MIT)
    )
    old = [int(br.block.name[-12:]) for br in frame.block_replicas if pred(frame, br)]
    assert sorted(old) == [0, 1]


def test_the_view_answers_get_index_and_membership_and_holds_no_entries() -> None:
    inventory = world()
    view = BlockAges(inventory, newest=NOW)
    key = (A, block_name(A, 1), MIT)
    assert view.get(key) == view[key] == 5 * DAY
    assert key in view
    assert len(view) == 0
    assert list(view) == []
    missing = (A, block_name(A, 1), DESY)
    assert missing not in view
    assert view.get(missing) is None
    assert view.get(missing, 0) == 0
    with pytest.raises(KeyError):
        view[missing]
    not_a_key: object = ("not", "a key")
    assert not_a_key not in view


def test_a_block_replica_taken_out_of_the_image_after_the_load_reads_as_missing() -> None:
    inventory = world()
    attributes = Attributes()
    BlockAgeProducer().load(inventory, attributes, NOW)
    replica = replica_of(inventory, A, DESY)
    (br,) = replica.block_replicas.values()
    inventory.unlink_block_replica(br)
    view = attributes.block[AGE_RELATIVE_TO_NEWEST]
    assert view.get((A, block_name(A, 0), DESY), 0) == 0


def test_an_empty_inventory_has_nothing_to_age() -> None:
    attributes = Attributes()
    BlockAgeProducer("replica").load(Inventory(), attributes, NOW)
    assert attributes.block[AGE_RELATIVE_TO_NEWEST].get(("/A/B/C", "b", "S")) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [({"relative_to": "dataset"}, "relative_to must be one of"), ({"mode": "x"}, "unknown key")],
)
def test_block_age_refuses_bad_configuration(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_producers({"block_age": config}, ProducerSources())


def test_the_newest_update_is_the_newest_of_the_per_replica_ones() -> None:
    inventory = world()
    assert newest_update(inventory) == max(newest_per_replica(inventory).values())
    assert newest_update(Builder().build()) == 0
