"""Every rule of the Detox algorithm (original-dynamo §4) on hand-built inventories."""

from __future__ import annotations

import pytest

from dynamo.detox import SAFETY_LINE, DetoxOptions, DetoxPlan, Verdict, plan
from dynamo.model import Inventory, SiteStatus, describe, violations
from dynamo.policy import Attributes, compile_policy, parse_policy
from unit.policy.builders import GB, NOW, Builder, block_name

HEAD = """Partition Physics
On site.name in [T2_*]
When site.occupancy > 0.9
Until site.occupancy < 0.85
"""


def _plan(
    builder: Builder,
    lines: str,
    *,
    head: str = HEAD,
    attributes: Attributes | None = None,
    **options: object,
) -> tuple[DetoxPlan, Inventory]:
    inventory = builder.build()
    policy = compile_policy(parse_policy(head + lines, file="test.txt"), now=NOW)
    partition = inventory.partitions["Physics"]
    result = plan(
        inventory,
        policy,
        partition,
        attributes or Attributes(),
        now=NOW,
        options=DetoxOptions(**options),  # type: ignore[arg-type]
    )
    return result, inventory


def _full_site(
    builder: Builder, site: str, count: int, *, quota_gb: int, copies_at: str = ""
) -> Builder:
    """``count`` one-block datasets of 1 GB at ``site`` (and a second copy at ``copies_at``)."""
    builder.site(site).quota(site, "AnalysisOps", quota_gb * GB)
    for index in range(count):
        name = f"/Sample{index:02d}/Run2016-v1/AOD"
        builder.dataset(name, blocks=1).replica(name, site)
        if copies_at:
            builder.replica(name, copies_at)
    return builder


def _deleted(result: DetoxPlan, site: str) -> list[str]:
    return sorted({d.dataset for d in result.deletions if d.site == site})


def _site(result: DetoxPlan, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in result.sites if s.name == name)


def _two_sites(count: int = 10, quota_gb: int = 10) -> Builder:
    b = Builder().site("T2_CH_CERN").quota("T2_CH_CERN", "AnalysisOps", 1000 * GB)
    return _full_site(b, "T2_US_MIT", count, quota_gb=quota_gb, copies_at="T2_CH_CERN")


def test_a_site_above_the_high_watermark_is_brought_under_the_low_one() -> None:
    result, _ = _plan(_two_sites(), "Dismiss\nOrder none\n")
    mit = _site(result, "T2_US_MIT")
    assert mit.triggered
    assert mit.occupancy_before == pytest.approx(1.0)
    assert mit.occupancy_after < 0.85
    # it stops at the first deletion that crosses the low watermark: 10 -> 8 GB of 10
    assert mit.occupancy_after == pytest.approx(0.8)
    assert mit.reached_stop
    assert mit.stop_reason is None
    assert len(_deleted(result, "T2_US_MIT")) == 2


def test_a_site_under_the_high_watermark_is_left_alone() -> None:
    result, _ = _plan(_two_sites(count=9, quota_gb=10), "Dismiss\nOrder none\n")
    mit = _site(result, "T2_US_MIT")
    assert not mit.triggered
    assert mit.occupancy_after == pytest.approx(0.9)
    assert result.deletions == ()
    assert result.counts()["keep"] == 18  # 9 datasets at two sites, all kept


def test_candidates_go_in_order_of_the_order_line() -> None:
    b = Builder().site("T2_CH_CERN").site("T2_US_MIT").quota("T2_US_MIT", "AnalysisOps", 10 * GB)
    for index, blocks in enumerate([1, 3, 2, 4]):
        name = f"/Order{index}/Run2016-v1/AOD"
        b.dataset(name, blocks=blocks).replica(name, "T2_US_MIT").replica(name, "T2_CH_CERN")
    b.quota("T2_CH_CERN", "AnalysisOps", 1000 * GB)
    # 10 GB used of 10: decreasing size deletes the 4-block dataset first and that is enough
    result, _ = _plan(b, "Dismiss\nOrder decreasing replica.size\n")
    assert _deleted(result, "T2_US_MIT") == ["/Order3/Run2016-v1/AOD"]
    result, _ = _plan(b, "Dismiss\nOrder increasing replica.size\n")
    assert _deleted(result, "T2_US_MIT") == [
        "/Order0/Run2016-v1/AOD",
        "/Order2/Run2016-v1/AOD",
    ]


def test_the_per_iteration_cap_spreads_deletion_over_iterations() -> None:
    b = _two_sites(count=100, quota_gb=100)
    capped, _ = _plan(b, "Dismiss\nOrder none\n", deletion_per_iteration=0.01)
    uncapped, _ = _plan(b, "Dismiss\nOrder none\n", deletion_per_iteration=1.0)
    # 1 % of 100 GB is 1 GB: each iteration deletes two 1 GB replicas (the cap is "more than")
    assert capped.iterations == 8
    assert uncapped.iterations == 1
    assert _deleted(capped, "T2_US_MIT") == _deleted(uncapped, "T2_US_MIT")


def test_the_site_with_the_highest_protected_fraction_goes_first() -> None:
    b = _two_sites(count=10, quota_gb=10)
    b.site("T2_AA_First").quota("T2_AA_First", "AnalysisOps", 10 * GB)
    for index in range(10):
        name = f"/Other{index:02d}/Run2016-v1/AOD"
        b.dataset(name, blocks=1).replica(name, "T2_AA_First").replica(name, "T2_CH_CERN")
    lines = "Protect dataset.name == /Sample0[0-4]*/*/*\nDismiss\nOrder none\n"
    result, _ = _plan(b, lines, deletion_per_iteration=0.05)
    # both sites are full; MIT protects 5 GB of 10, T2_AA_First (first by name) nothing
    assert [d.site for d in result.deletions[:2]] == ["T2_US_MIT", "T2_US_MIT"]


def test_block_level_lines_peel_blocks_off_a_replica() -> None:
    b = Builder().site("T2_CH_CERN").site("T2_US_MIT").quota("T2_US_MIT", "AnalysisOps", 4 * GB)
    b.quota("T2_CH_CERN", "AnalysisOps", 1000 * GB)
    name = "/Peel/Run2016-v1/AOD"
    b.dataset(name, blocks=4).replica(name, "T2_US_MIT", block_ages={0: 200, 1: 200, 2: 10, 3: 10})
    b.replica(name, "T2_CH_CERN")
    lines = "ProtectBlock blockreplica.last_update newer_than 30 days ago\nDismiss\nOrder none\n"
    result, _ = _plan(b, lines)
    deleted = sorted(d.block for d in result.deletions)
    assert deleted == [block_name(name, 0), block_name(name, 1)]
    rows = {(r.verdict, r.line_id): r.num_blocks for r in result.decisions if r.site == "T2_US_MIT"}
    assert rows == {(Verdict.DELETE, 1): 2, (Verdict.PROTECT, 0): 2}


def test_last_copies_fall_onto_protect_lines_as_copies_are_deleted() -> None:
    # two full sites hold the only two copies of every dataset
    b = Builder()
    for site in ("T2_US_MIT", "T2_DE_DESY"):
        b.site(site).quota(site, "AnalysisOps", 10 * GB)
    for index in range(10):
        name = f"/Twin{index}/Run2016-v1/AOD"
        b.dataset(name, blocks=1).replica(name, "T2_US_MIT").replica(name, "T2_DE_DESY")
    lines = "Protect replica.num_full_other_copy_common_owner == 0\nDismiss\nOrder none\n"
    result, _ = _plan(b, lines, deletion_per_iteration=0.05)
    mit, desy = _deleted(result, "T2_US_MIT"), _deleted(result, "T2_DE_DESY")
    assert not set(mit) & set(desy), "a dataset lost both copies"
    assert len(mit) == 2
    assert len(desy) == 2
    assert result.safety_bites == 0  # the policy line did it, not the safety rule


def test_the_safety_rule_keeps_the_last_complete_copy_and_says_so() -> None:
    b = Builder().site("T2_US_MIT").quota("T2_US_MIT", "AnalysisOps", 10 * GB)
    for index in range(10):
        name = f"/Only{index}/Run2016-v1/AOD"
        b.dataset(name, blocks=1).replica(name, "T2_US_MIT")
    result, _ = _plan(b, "Dismiss\nOrder none\n")
    assert result.deletions == ()
    assert result.safety_bites == 10
    assert {(r.verdict, r.line_id) for r in result.decisions} == {(Verdict.PROTECT, SAFETY_LINE)}
    mit = _site(result, "T2_US_MIT")
    assert not mit.reached_stop
    assert "safety rule kept 10" in (mit.stop_reason or "")
    unsafe, _ = _plan(b, "Dismiss\nOrder none\n", protect_last_copy=False)
    assert len(unsafe.deletions) == 2


def test_a_copy_in_the_morgue_or_the_null_group_does_not_count_as_a_survivor() -> None:
    b = Builder().site("T2_US_MIT").quota("T2_US_MIT", "AnalysisOps", 2 * GB)
    b.site("T2_XX_Gone", status=SiteStatus.MORGUE)
    b.site("T2_CH_CERN").group("AnalysisOps")
    b.dataset("/M/Run2016-v1/AOD", blocks=1).replica("/M/Run2016-v1/AOD", "T2_US_MIT")
    b.replica("/M/Run2016-v1/AOD", "T2_XX_Gone")
    b.dataset("/N/Run2016-v1/AOD", blocks=1).replica("/N/Run2016-v1/AOD", "T2_US_MIT")
    b.replica("/N/Run2016-v1/AOD", "T2_CH_CERN", None)
    result, _ = _plan(b, "Dismiss\nOrder none\n", head=HEAD.replace("T2_*", "T2_US_*"))
    assert result.deletions == ()
    assert result.safety_bites == 2


def test_locked_blocks_are_protected() -> None:
    b = _two_sites()
    attributes = Attributes()
    for index in range(10):
        attributes.lock(f"/Sample{index:02d}/Run2016-v1/AOD", "T2_US_MIT")
    lines = "ProtectBlock blockreplica.is_locked\nDismiss\nOrder none\n"
    result, _ = _plan(b, lines, attributes=attributes)
    assert result.deletions == ()
    assert not _site(result, "T2_US_MIT").reached_stop


def test_delete_lines_act_without_a_trigger() -> None:
    b = _two_sites(count=5, quota_gb=10)  # MIT at 50 %: not triggered
    lines = "Delete dataset.name == /Sample0[0-1]*/*/*\nDismiss\nOrder none\n"
    result, _ = _plan(b, lines)
    assert not _site(result, "T2_US_MIT").triggered
    # at both sites, in (site, dataset) order: the line does not ask for a trigger, and the
    # safety rule keeps the second copy
    assert _deleted(result, "T2_CH_CERN") == [
        "/Sample00/Run2016-v1/AOD",
        "/Sample01/Run2016-v1/AOD",
    ]
    assert _deleted(result, "T2_US_MIT") == []
    assert result.safety_bites == 2


def test_ignored_replicas_are_not_considered_nor_recorded() -> None:
    b = _two_sites()
    lines = "Ignore site.name == T2_US_MIT\nDismiss\nOrder none\n"
    result, _ = _plan(b, lines)
    assert result.deletions == ()
    assert {r.site for r in result.decisions} == {"T2_CH_CERN"}
    assert result.ignored_replicas == 10


def test_a_zero_quota_triggers_and_a_negative_one_never_does() -> None:
    zero = _two_sites()
    zero.quota("T2_US_MIT", "AnalysisOps", 0)
    result, _ = _plan(zero, "Dismiss\nOrder none\n")
    mit = _site(result, "T2_US_MIT")
    assert mit.triggered
    assert mit.occupancy_before == float("inf")
    assert mit.to_json()["occupancy_before"] is None
    assert len(_deleted(result, "T2_US_MIT")) == 10
    assert mit.occupancy_after == 0.0
    unlimited = _two_sites()
    unlimited.quota("T2_US_MIT", "AnalysisOps", -1)
    result, _ = _plan(unlimited, "Dismiss\nOrder none\n")
    assert not _site(result, "T2_US_MIT").triggered
    assert result.deletions == ()


def test_algo_static_deletes_in_one_global_pass() -> None:
    b = _two_sites(count=100, quota_gb=100)
    result, _ = _plan(b, "Dismiss\nOrder none\nAlgo Static\n")
    assert result.iterations == 1
    assert _site(result, "T2_US_MIT").occupancy_after < 0.85


def test_every_decision_names_a_line_and_the_plan_leaves_the_inventory_as_it_was() -> None:
    b = _two_sites()
    inventory = b.build()
    before = describe(inventory)
    policy = compile_policy(parse_policy(HEAD + "Dismiss\nOrder none\n", file="t"), now=NOW)
    result = plan(inventory, policy, inventory.partitions["Physics"], Attributes(), now=NOW)
    assert result.deletions
    assert describe(inventory) == before
    assert violations(inventory) == []
    assert all(0 <= r.line_id < len(policy.policy.lines) for r in result.decisions)


def test_the_null_group_hand_over_changes_only_the_deleted_block_replicas() -> None:
    b = _two_sites()
    result, inventory = _plan(b, "Dismiss\nOrder none\n")
    inventory.apply(result.changeset())
    mit = inventory.sites["T2_US_MIT"]
    usage = mit.partitions[inventory.partitions["Physics"]]
    assert usage.occupancy() == pytest.approx(0.8)
    nulls = [
        br.block.dataset.name
        for replica in mit.dataset_replicas.values()
        for br in replica.block_replicas.values()
        if br.group.name is None
    ]
    assert sorted(nulls) == _deleted(result, "T2_US_MIT")
