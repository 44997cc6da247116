"""Every real CMS policy file parses, and says the same after a format round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.policy import (
    FileKind,
    check_text,
    detect_kind,
    format_policy,
    parse_enforcer_rules,
    parse_partitions,
    parse_policy,
)

from .builders import FIXTURES, POLICIES

DETOX_FILES = sorted((POLICIES / "detox").rglob("*.txt"))
ALL_FILES = [
    *DETOX_FILES,
    POLICIES / "partitions.txt",
    *sorted((POLICIES / "common").glob("*.json")),
    FIXTURES / "dynamo" / "etc" / "default_partitions.txt",
    *sorted((FIXTURES / "dynamo-cms" / "config").glob("*.json")),
]
OLD_CAMPAIGNS = [p for p in DETOX_FILES if "Partition " not in p.read_text()]


def _id(path: Path) -> str:
    return path.name


def test_the_fixture_set_holds_every_real_detox_file() -> None:
    assert len(DETOX_FILES) == 21


@pytest.mark.parametrize("path", ALL_FILES, ids=_id)
def test_every_real_file_checks_clean_or_with_deprecations_only(path: Path) -> None:
    diagnostics = check_text(path.read_text(), file=str(path))
    assert all(d.severity == "warning" for d in diagnostics)
    if path not in OLD_CAMPAIGNS:
        assert [d for d in diagnostics if "Partition" in d.message] == []


@pytest.mark.parametrize("path", OLD_CAMPAIGNS, ids=_id)
def test_a_campaign_without_partition_line_is_accepted_with_a_deprecation(path: Path) -> None:
    diagnostics = check_text(path.read_text(), file=str(path))
    assert any("no `Partition` line" in d.message for d in diagnostics)
    assert parse_policy(path.read_text()).partition is None


def test_historic_variables_of_campaigns_are_mapped_to_todays_names() -> None:
    path = POLICIES / "detox" / "campaigns" / "160829_disk_2.txt"
    diagnostics: list = []
    policy = parse_policy(path.read_text(), file=str(path), diagnostics=diagnostics)
    messages = sorted(d.message for d in diagnostics if d.line == 7)
    assert messages == [
        "replica.group_name is deprecated; read as blockreplica.owner",
        "replica.has_locked_block is deprecated; read as blockreplica.is_locked",
    ]
    assert [d.col for d in diagnostics if d.line == 7] == [9, 43]
    first = policy.lines[0]
    assert first.number == 7
    assert "blockreplica.owner == DataOps and blockreplica.is_locked" in format_policy(policy)


@pytest.mark.parametrize("path", DETOX_FILES, ids=_id)
def test_formatting_a_real_policy_parses_back_to_the_same_tree(path: Path) -> None:
    policy = parse_policy(path.read_text())
    assert parse_policy(format_policy(policy)) == policy


def test_physics_has_the_33_action_lines_of_the_census() -> None:
    policy = parse_policy((POLICIES / "detox" / "Physics.txt").read_text())
    assert len(policy.lines) == 33
    assert policy.partition == "Physics"
    assert [(k.variable, k.decreasing) for k in policy.order or ()] == [
        ("dataset.usage_rank", True),
        ("replica.size", False),
    ]


def test_the_largest_campaign_has_its_3979_policy_lines() -> None:
    policy = parse_policy((POLICIES / "detox" / "campaigns" / "171115_disk.txt").read_text())
    assert len(policy.lines) == 3979


def test_the_partitions_file_defines_fourteen_partitions_with_two_supers() -> None:
    definitions = parse_partitions((POLICIES / "partitions.txt").read_text())
    assert len(definitions) == 14
    supers = {d.name: d.subpartitions for d in definitions if d.condition is None}
    assert supers == {
        "Physics": ("AnalysisOps", "DataOpsDisk", "PhysicsTape"),
        "DataOps": ("DataOpsDisk", "PhysicsTape"),
    }


def test_enforcer_rules_of_physics_have_their_six_rules() -> None:
    rules = parse_enforcer_rules((POLICIES / "common" / "enforcer_rules_physics.json").read_text())
    assert rules.partition == "Physics"
    assert len(rules.rules) == 6
    assert rules.rules[0].name == "usa_miniaod"
    assert rules.rules[0].protect


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (POLICIES / "detox" / "Physics.txt", FileKind.DETOX),
        (POLICIES / "detox" / "campaigns" / "171115_disk.txt", FileKind.DETOX),
        (POLICIES / "partitions.txt", FileKind.PARTITIONS),
        (POLICIES / "common" / "enforcer_rules_relval.json", FileKind.ENFORCER),
        (FIXTURES / "dynamo-cms" / "config" / "dealer_config.json", FileKind.DEALER),
    ],
    ids=lambda v: getattr(v, "name", str(v)),
)
def test_the_kind_of_a_real_file_is_detected(path: Path, kind: FileKind) -> None:
    assert detect_kind(path.read_text(), str(path)) is kind
