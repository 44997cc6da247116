"""Compiled rules and the original Dynamo's filename_mapping chains."""

from __future__ import annotations

import pytest

from dynamo.errors import ConfigurationError
from dynamo.storage.naming import (
    FilenameMapping,
    NoMatchingRuleError,
    Rule,
    RuleChain,
    UnknownProtocolError,
    compile_template,
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("root://h//store/$1", ("root://h//store/{}", (1,))),
        ("/a/{0}/{1}", ("/a/{}/{}", (1, 2))),
        ("/x/$2-$1", ("/x/{}-{}", (2, 1))),
        ("/no/groups", ("/no/groups", ())),
        ("/brace/{literal}/$1", ("/brace/{{literal}}/{}", (1,))),
    ],
)
def test_templates_compile_both_placeholder_styles(
    template: str, expected: tuple[str, tuple[int, ...]]
) -> None:
    assert compile_template(template) == expected


def test_a_rule_matches_the_whole_name_only() -> None:
    rule = Rule(r"/+store/(.*)\.root", "/data/$1.root")
    assert rule.apply("/store/a/b.root") == "/data/a/b.root"
    assert rule.apply("/store/a/b.root.bak") is None
    assert rule.apply("/x/store/a.root") is None


def test_a_group_that_did_not_match_substitutes_as_empty() -> None:
    assert Rule("/a(/b)?/(.*)", "/z$1/$2").apply("/a/c") == "/z/c"


def test_a_chain_applies_every_rule_in_turn_and_fails_if_one_does_not_match() -> None:
    chain = RuleChain([("/store/(.*)", "/mnt/{0}"), ("/mnt/(mc/.*)", "root://h//mnt/{0}")])
    assert chain.apply("/store/mc/a") == "root://h//mnt/mc/a"
    assert chain.apply("/store/data/a") is None


def test_filename_mapping_takes_the_first_chain_that_matches() -> None:
    mapping = FilenameMapping(
        {
            "root": [
                [("/store/user/(.*)", "root://user//u/{0}")],
                [("/store/(.*)", "root://main//s/{0}")],
            ]
        },
        reverse={"root": [[("root://main//s/(.*)", "/store/{0}")]]},
    )
    assert mapping.to_pfn("/store/user/a", "root") == "root://user//u/a"
    assert mapping.to_pfn("/store/mc/a", "root") == "root://main//s/mc/a"
    assert mapping.to_lfn("root://main//s/mc/a", "root") == "/store/mc/a"
    assert mapping.protocols() == {"root"}
    with pytest.raises(UnknownProtocolError):
        mapping.to_pfn("/store/a", "davs")
    with pytest.raises(NoMatchingRuleError):
        mapping.to_pfn("/other", "root")


def test_a_result_naming_a_missing_group_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="group 2"):
        Rule("/(a)", "$2")
