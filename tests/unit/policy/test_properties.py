"""Properties: formatting round-trips, and compiled conditions agree with the interpreter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dynamo.policy import (
    Condition,
    EvaluationContext,
    Frame,
    compile_condition,
    format_condition,
    interpret,
    parse_condition,
)

from .builders import NOW
from .strategies import conditions, world


@given(conditions)
@settings(max_examples=400)
def test_formatting_a_condition_parses_back_to_the_same_tree(condition: Condition) -> None:
    assert parse_condition(format_condition(condition)) == condition


@given(conditions, st.integers(min_value=0, max_value=5))
@settings(max_examples=250, deadline=None)
def test_compiled_and_interpreted_conditions_agree_on_every_replica(
    condition: Condition, seed: int
) -> None:
    inventory, attributes = world(seed)
    physics = inventory.partitions["Physics"]
    ctx = EvaluationContext(now=NOW, attributes=attributes, partition=physics)
    compiled = compile_condition(condition, NOW)
    for replica in inventory.iter_dataset_replicas():
        frame = Frame.of_replica(ctx, replica)
        assert compiled(frame, None) == interpret(condition, frame, None)
        for block_replica in replica.block_replicas.values():
            assert compiled(frame, block_replica) == interpret(condition, frame, block_replica)
