"""Enforcer rules and dealer site conditions parse with the same machinery and evaluate."""

from __future__ import annotations

from dynamo.policy import (
    EvaluationContext,
    Frame,
    compile_condition,
    compile_target_sites,
    parse_enforcer_rules,
    parse_site_conditions,
)

from .builders import FIXTURES, NOW, POLICIES, Builder

SITES = ["T1_US_FNAL_Disk", "T2_US_Caltech", "T2_US_MIT", "T2_DE_DESY", "T1_US_FNAL_MSS"]


def _matching(condition_index: int, field: str) -> list[str]:
    rules = parse_enforcer_rules((POLICIES / "common" / "enforcer_rules_physics.json").read_text())
    condition = getattr(rules.rules[0], field)[condition_index]
    b = Builder()
    for name in SITES:
        b.site(name, mss=name.endswith("_MSS"))
    inventory = b.build()
    pred = compile_condition(condition, NOW)
    ctx = EvaluationContext(now=NOW)
    return [s for s in SITES if pred(Frame.of_site(ctx, inventory.sites[s], None), None)]


def test_the_usa_miniaod_destinations_are_us_sites_but_caltech() -> None:
    assert _matching(0, "destinations") == ["T1_US_FNAL_Disk", "T2_US_MIT"]


def test_the_usa_miniaod_sources_are_non_us_disk_sites() -> None:
    assert _matching(0, "sources") == ["T2_DE_DESY"]


def test_the_dealer_copy_backends_are_chosen_by_site_conditions() -> None:
    found = parse_site_conditions(
        (FIXTURES / "dynamo-cms" / "config" / "dealer_config.json").read_text()
    )
    assert [c.path for c in found] == ["$.dealer.copy_op[0]", "$.dealer.copy_op[1]"]
    assert found[0].backend[0]["module"] == "rlfsmphedexcopy:RLFSMPhEDExReserveCopyInterface"


def test_target_sites_patterns_veto_with_a_bang_and_the_last_match_wins() -> None:
    is_target = compile_target_sites(["T1_*_Disk", "T2_*", "!T2_US_Caltech"])
    assert [s for s in SITES if is_target(s)] == ["T1_US_FNAL_Disk", "T2_US_MIT", "T2_DE_DESY"]
