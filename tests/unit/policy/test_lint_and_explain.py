"""`lint_policy` findings and `explain` output on hand-built replicas."""

from __future__ import annotations

import pytest

from dynamo.errors import NotFoundError
from dynamo.policy import Attributes, EvaluationContext, compile_policy, parse_policy
from dynamo.policy.explain import explain
from dynamo.policy.lint import lint_policy

from .builders import NOW, POLICIES, Builder, block_name

HEAD = "Partition Physics\nOn always\nWhen always\nUntil never\n"


def _lint(body: str) -> list[tuple[int, str]]:
    return [(d.line, d.message) for d in lint_policy(parse_policy(HEAD + body))]


def test_lint_reports_a_duplicate_line_with_the_first_one() -> None:
    body = "Protect dataset.name == /a/b/C\nProtect dataset.name  ==  /a/b/C\nDismiss\n"
    assert _lint(body) == [(6, "duplicate of line 5")]


def test_lint_reports_an_exact_name_shadowed_by_an_earlier_glob() -> None:
    body = (
        "Protect dataset.name == /*/*/MINIAOD*\nDelete dataset.name == /a/b/MINIAODSIM\nDismiss\n"
    )
    assert _lint(body) == [(6, "shadowed by line 5: Protect dataset.name == /*/*/MINIAOD*")]


def test_lint_reports_a_line_shadowed_by_a_weaker_conjunction() -> None:
    body = "Protect replica.incomplete\nDismiss replica.incomplete and dataset.size > 0\nDismiss\n"
    assert _lint(body) == [(6, "shadowed by line 5: Protect replica.incomplete")]


def test_lint_does_not_report_a_block_line_as_shadowing() -> None:
    body = "ProtectBlock blockreplica.is_locked\nProtect blockreplica.is_locked\nDismiss\n"
    assert _lint(body) == []


def test_lint_reports_lines_after_the_default_and_never_lines() -> None:
    body = "Protect never and replica.incomplete\nDismiss\nProtect replica.incomplete\n"
    assert _lint(body) == [
        (5, "never matches: the condition contains `never`"),
        (7, "unreachable: after the default decision on line 6"),
    ]


def test_lint_treats_an_always_line_as_a_default() -> None:
    body = "Protect always\nDismiss\n"
    assert _lint(body) == [(6, "unreachable: after the default decision on line 5")]


def test_lint_finds_nothing_in_the_physics_policy() -> None:
    assert lint_policy(parse_policy((POLICIES / "detox" / "Physics.txt").read_text())) == []


def test_explain_gives_each_decision_its_line_and_the_values_it_read() -> None:
    name = "/A/Run2016-v1/AOD"
    b = Builder().site("T2_US_MIT").site("T1_US_FNAL_MSS", mss=True)
    b.dataset(name).replica(name, "T2_US_MIT").replica(name, "T1_US_FNAL_MSS", "DataOps")
    inventory = b.build()
    attributes = Attributes()
    attributes.lock(name, "T2_US_MIT", [block_name(name, 0)])
    policy = parse_policy((POLICIES / "detox" / "Physics.txt").read_text())
    ctx = EvaluationContext(
        now=NOW, attributes=attributes, partition=inventory.partitions["Physics"]
    )
    result = explain(
        inventory, compile_policy(policy, now=NOW), site="T2_US_MIT", dataset=name, ctx=ctx
    )
    assert result.is_target
    first, last = result.decisions
    assert first["action"] == "ProtectBlock"
    assert first["line"] == 14
    assert first["variables"] == {"blockreplica.is_locked": {block_name(name, 0): True}}
    assert last["line"] == 53
    assert last["variables"]["dataset.last_update"] == "2022-10-10T22:13:20Z"
    assert last["variables"]["replica.num_access"] == 0


def test_explain_names_a_missing_replica() -> None:
    inventory = Builder().site("T2_US_MIT").dataset("/A/B/C").build()
    policy = compile_policy(parse_policy((POLICIES / "detox" / "Physics.txt").read_text()), now=NOW)
    with pytest.raises(NotFoundError, match="no replica at T2_US_MIT"):
        explain(
            inventory, policy, site="T2_US_MIT", dataset="/A/B/C", ctx=EvaluationContext(now=NOW)
        )
