"""Broken variants of real files fail at the exact line and column, with what was expected."""

from __future__ import annotations

import pytest

from dynamo.policy import (
    PolicySyntaxError,
    UnknownVariableError,
    check_text,
    parse_condition,
    parse_policy,
)

from .builders import POLICIES

PHYSICS = (POLICIES / "detox" / "Physics.txt").read_text()
CAMPAIGN = (POLICIES / "detox" / "campaigns" / "171115_disk.txt").read_text()


def _break(text: str, old: str, new: str) -> tuple[str, int, int]:
    """``text`` with the first ``old`` replaced, and the 1-based line and column of the change."""
    at = text.index(old)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return text.replace(old, new, 1), line, col


def _error(text: str, file: str = "Physics.txt") -> PolicySyntaxError:
    with pytest.raises(PolicySyntaxError) as caught:
        parse_policy(text, file=file)
    return caught.value


def test_a_typo_in_a_variable_is_reported_at_the_variable_with_a_suggestion() -> None:
    text, line, col = _break(PHYSICS, "dataset.usage_rank > 100", "dataset.usage_rnak > 100")
    error = _error(text)
    assert isinstance(error, UnknownVariableError)
    assert (error.line, error.col) == (line, col)
    assert (line, col) == (52, 9)
    assert "did you mean 'dataset.usage_rank'?" in error.message


def test_an_unclosed_bracket_is_reported_at_the_opening_bracket() -> None:
    text, line, _ = _break(PHYSICS, "T2_*]", "T2_*")
    error = _error(text)
    assert (error.line, error.col) == (line, 17)
    assert error.expected == ("']'",)


def test_an_unknown_keyword_is_reported_with_the_list_of_keywords() -> None:
    text, line, col = _break(PHYSICS, "Protect replica.incomplete", "Protekt replica.incomplete")
    error = _error(text)
    assert (error.line, error.col) == (line, col)
    assert "did you mean 'Protect'?" in error.message
    assert "ProtectBlock" in error.expected


def test_a_bad_time_phrase_is_reported_at_the_phrase() -> None:
    text, line, col = _break(PHYSICS, "1 week ago", "1 weak ago")
    error = _error(text)
    assert (error.line, error.col) == (line, col)
    assert "bad time phrase" in error.message


def test_a_broken_line_deep_in_the_large_campaign_is_located() -> None:
    old = "Protect dataset.name == /QCD_HT500to700_GenJets5"
    text, line, col = _break(CAMPAIGN, old, "Protect dataset.name = /QCD_HT500to700_GenJets5")
    error = _error(text, "171115_disk.txt")
    assert (error.line, error.col) == (line, col + len("Protect dataset.name "))
    assert line > 1000
    assert "==" in error.expected


def test_the_message_shows_the_location_the_source_line_and_a_caret() -> None:
    with pytest.raises(PolicySyntaxError) as caught:
        parse_policy(
            "Partition P\nOn site.name == X\nWhen always\nUntil never\nDismis\n", file="f.txt"
        )
    assert str(caught.value).splitlines() == [
        "f.txt:5:1: unknown keyword 'Dismis'; did you mean 'Dismiss'? (expected Partition, On, "
        "When, Until, Protect, Delete, Dismiss, Ignore, ProtectBlock, DeleteBlock, DismissBlock, "
        "Order, Algo)",
        "    Dismis",
        "    ^",
    ]


_HEAD = "Partition P\nOn site.name == X\nWhen always\nUntil never\n"


@pytest.mark.parametrize(
    ("line", "col", "advice"),
    [
        ("Delete if dataset.name == /a/b/C", 8, "`Dismiss <condition>`"),
        ("Strategy static", 1, "`Algo Static`"),
        ("Protect site.name in A B", 22, "`in [A B C]`"),
        ("Protect site.name not in [A]", 19, "`notin [...]`"),
        ("Protect replica.last_used older_than 1 week ago", 9, "dataset.last_access"),
        ("Protect site.active == AVAILABLE", 9, "site.status"),
        ("Protect replica.num_full_disk_copy > 1", 9, "dataset.num_full_disk_copy"),
        ("Delete", 7, "only `Protect` and `Dismiss` are defaults"),
        ("Protect dataset.on_tape == SOME", 28, "not a value of dataset.on_tape"),
        ("Protect dataset.name =~ /a/(b", 25, "bad regular expression"),
        ("Protect dataset.size > big", 24, "needs a number"),
        ("Protect replica.incomplete == 1", 28, "is boolean"),
        ("Protect dataset.name < 3", 22, "not valid for dataset.name"),
        ("Protect (replica.incomplete", 9, "unclosed '('"),
        ("Protect replica.incomplete and", 31, "expected a variable"),
        ("Protect site.occupancy > 0.9", 9, "cannot be used in a replica condition"),
    ],
)
def test_a_bad_line_fails_at_its_column_with_advice(line: str, col: int, advice: str) -> None:
    error = _error(_HEAD + line + "\nDismiss\n", "p.txt")
    assert (error.line, error.col) == (5, col)
    assert advice in str(error)


def test_when_with_until_on_one_line_asks_for_a_separate_until_line() -> None:
    text = "Partition P\nOn always\nWhen site.occupancy > 0.9 until site.occupancy < 0.8\n"
    error = _error(text + "Until never\nDismiss\n")
    assert (error.line, error.col) == (3, 27)
    assert "`Until <condition>` on its own line" in error.message


def test_a_site_condition_may_not_read_replica_variables() -> None:
    error = _error("Partition P\nOn dataset.name == /a/b/C\nWhen always\nUntil never\nDismiss\n")
    assert (error.line, error.col) == (2, 4)
    assert "cannot be used in a site condition" in error.message


def test_a_policy_without_default_decision_is_rejected() -> None:
    error = _error(_HEAD + "Protect replica.incomplete\n")
    assert "no default decision" in error.message


def test_a_policy_without_on_line_is_rejected() -> None:
    error = _error("Partition P\nWhen always\nUntil never\nDismiss\n")
    assert "no `On` line" in error.message


def test_a_condition_error_in_enforcer_json_points_into_the_json_file() -> None:
    text = (POLICIES / "common" / "enforcer_rules_relval.json").read_text()
    broken, line, col = _break(text, "site.storage_type == DISK", "site.storage_typ == DISK")
    with pytest.raises(UnknownVariableError) as caught:
        check_text(broken, file="relval.json")
    assert (caught.value.line, caught.value.col) == (line, col)


def test_invalid_json_is_reported_at_the_decoder_position() -> None:
    with pytest.raises(PolicySyntaxError) as caught:
        check_text('{"rules": {\n  "a": [}\n}', file="x.json")
    assert (caught.value.line, caught.value.col) == (2, 9)


def test_an_unknown_superpartition_member_is_reported_at_the_member() -> None:
    text = "A: site.name == X\nB: [A, C]\n"
    with pytest.raises(PolicySyntaxError) as caught:
        check_text(text, file="partitions.txt")
    assert (caught.value.line, caught.value.col) == (2, 8)


def test_a_partition_condition_may_not_read_producer_attributes() -> None:
    with pytest.raises(PolicySyntaxError, match="comes from a producer"):
        check_text("Locked: blockreplica.is_locked\n", file="partitions.txt")


def test_or_and_parentheses_parse_with_and_binding_tighter() -> None:
    tree = parse_condition("replica.incomplete or dataset.size > 1 and never")
    assert type(tree).__name__ == "Or"


def test_every_bad_line_of_a_file_is_reported_not_only_the_first() -> None:
    text, first_line, first_col = _break(
        PHYSICS, "dataset.usage_rank > 100", "dataset.usage_rnak > 100"
    )
    text, second_line, second_col = _break(
        text, "older_than 150 days ago", "older_than 150 blorps ago"
    )
    error = _error(text)
    located = [(e.line, e.col) for e in error.all_errors]
    assert located == sorted([(first_line, first_col), (second_line, second_col + 11)])
    assert str(error).count("Physics.txt:") == 2
