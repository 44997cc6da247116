"""The extensions (or, parentheses, not anywhere, durations, ISO dates) and the original meaning."""

from __future__ import annotations

import pytest

from dynamo.policy import (
    And,
    EvaluationContext,
    Frame,
    Not,
    Or,
    Predicate,
    ValueKind,
    compile_condition,
    compile_policy,
    parse_condition,
    parse_policy,
)

from .builders import NOW, Builder, replica_of

NAME = "/A/Run2016-v1/AOD"


def _frame() -> Frame:
    b = Builder().site("T2_US_MIT").dataset(NAME, age_days=100)
    inventory = b.replica(NAME, "T2_US_MIT", owners={0: "DataOps"}).build()
    return Frame.of_replica(EvaluationContext(now=NOW), replica_of(inventory, NAME, "T2_US_MIT"))


def _holds(text: str) -> bool:
    return compile_condition(parse_condition(text), NOW)(_frame(), None)


def test_or_binds_looser_than_and() -> None:
    tree = parse_condition("replica.incomplete or dataset.size > 1 and never")
    assert isinstance(tree, Or)
    assert isinstance(tree.operands[1], And)
    assert not _holds("never or always and never")
    assert _holds("(never or always) and always")


def test_a_regex_keeps_its_parentheses_inside_a_group() -> None:
    tree = parse_condition("(dataset.name =~ /[^/]+/[^/]+/GEN-SIM(?:-RECO|)$ or never)")
    assert isinstance(tree, Or)
    first = tree.operands[0]
    assert isinstance(first, Predicate)
    assert first.values[0].text == "/[^/]+/[^/]+/GEN-SIM(?:-RECO|)$"


def test_a_value_with_spaces_is_one_value_as_in_the_original() -> None:
    tree = parse_condition("blockreplica.owner == IB RelVal and site.storage_type == DISK")
    assert isinstance(tree, And)
    owner = tree.operands[0]
    assert isinstance(owner, Predicate)
    assert owner.values[0].text == "IB RelVal"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the original's per-block meaning: some block is not owned by DataOps
        ("blockreplica.owner != DataOps", True),
        ("not blockreplica.is_locked", True),
        # the extension negates the whole: it is not true that no block is owned by DataOps
        ("not blockreplica.owner == DataOps", False),
        ("not (blockreplica.owner == DataOps)", False),
        ("dataset.last_update older_than 90d", True),
        ("dataset.last_update older_than 2023-06-01", False),
        ("dataset.size > 1.5GB", True),
        ("dataset.size > 2GB", False),
    ],
)
def test_block_variables_on_a_dataset_replica_mean_any_block(text: str, expected: bool) -> None:
    assert _holds(text) is expected


def test_not_before_a_comparison_is_a_not_node() -> None:
    tree = parse_condition("not dataset.name == /a/b/C and always")
    assert isinstance(tree, And)
    assert isinstance(tree.operands[0], Not)


def test_none_is_the_null_group_for_the_owner() -> None:
    tree = parse_condition("blockreplica.owner == None")
    assert isinstance(tree, Predicate)
    assert tree.values[0].kind is ValueKind.NULL


def test_a_policy_with_or_lines_decides_like_two_lines() -> None:
    head = "Partition Physics\nOn always\nWhen always\nUntil never\n"
    with_or = parse_policy(head + "Protect replica.incomplete or dataset.size > 1\nDismiss\n")
    two = parse_policy(head + "Protect replica.incomplete\nProtect dataset.size > 1\nDismiss\n")
    b = Builder().site("T2_US_MIT").dataset(NAME)
    inventory = b.replica(NAME, "T2_US_MIT").build()
    replica = replica_of(inventory, NAME, "T2_US_MIT")
    ctx = EvaluationContext(now=NOW)
    first = compile_policy(with_or, now=NOW).evaluate(replica, ctx)[0]
    second = compile_policy(two, now=NOW).evaluate(replica, ctx)[0]
    assert (first.action, first.block_replicas) == (second.action, second.block_replicas)


def test_algo_static_and_order_none_are_read() -> None:
    head = "Partition P\nOn always\nWhen always\nUntil never\nDismiss\n"
    policy = parse_policy(head + "Order none\nAlgo Static\n")
    assert policy.static
    assert policy.order == ()


def test_always_delete_is_read_as_delete_with_a_warning() -> None:
    diagnostics: list = []
    head = "Partition P\nOn always\nWhen always\nUntil never\n"
    policy = parse_policy(
        head + "AlwaysDelete dataset.size > 0\nProtect\n", diagnostics=diagnostics
    )
    assert policy.lines[0].action.value == "Delete"
    assert [d.message for d in diagnostics] == ["AlwaysDelete is deprecated; read as Delete"]
