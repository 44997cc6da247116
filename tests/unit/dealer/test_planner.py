"""The planner's placement rules and limits on hand-built inventories."""

from __future__ import annotations

import random

import pytest

from dealer_data import GB, grid, options, proposal, run_plan, sample
from dynamo.dealer import PluginProposals, SiteStats, merge_proposals, plan
from dynamo.dealer.proposals import (
    REJECT_ALREADY_THERE,
    REJECT_NO_SOURCE,
    REJECT_NOT_TARGET,
    REJECT_NOT_VALID,
    REJECT_OCCUPANCY,
    REJECT_PENDING,
    REJECT_UNKNOWN_BLOCK,
    REJECT_UNKNOWN_DATASET,
    REJECT_UNRELIABLE,
    REJECT_VOLUME,
)
from dynamo.model import DatasetStatus, SiteStatus, violations
from unit.policy.builders import NOW, block_name


def test_an_accepted_copy_creates_incomplete_replicas_whose_projected_size_counts_at_once() -> None:
    b = grid({"T2_A": 100})
    sample(b, "/A/B/AOD")
    inventory = b.build()
    result = run_plan(inventory, [proposal("/A/B/AOD")])
    assert [(c.site, c.size) for c in result.copies] == [("T2_A", 2 * GB)]
    assert [(s.site, s.block) for s in result.subscriptions()] == [
        ("T2_A", block_name("/A/B/AOD", 0)),
        ("T2_A", block_name("/A/B/AOD", 1)),
    ]
    inventory.apply(result.changeset())
    assert violations(inventory) == []
    replica = inventory.sites["T2_A"].dataset_replicas[inventory.datasets["/A/B/AOD"]]
    assert replica.growing
    assert replica.group.name == "AnalysisOps"
    assert not any(r.is_complete() for r in replica.block_replicas.values())
    usage = next(u for p, u in inventory.sites["T2_A"].partitions.items() if p.name == "Physics")
    assert (usage.physical_bytes, usage.projected_bytes) == (0, 2 * GB)


def test_only_the_missing_blocks_are_copied_and_a_block_proposal_is_not_growing() -> None:
    b = grid({"T2_A": 100})
    sample(b, "/A/B/AOD", blocks=3)
    b.replica("/A/B/AOD", "T2_A", blocks=[0])
    inventory = b.build()
    result = run_plan(inventory, [proposal("/A/B/AOD", sites=("T2_A",))])
    assert result.copies[0].blocks == (block_name("/A/B/AOD", 1), block_name("/A/B/AOD", 2))
    ops = result.changeset().ops
    assert all(op.kind == "upsert_block_replica" for op in ops)  # the dataset replica exists


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda b: proposal("/No/Such/AOD"), REJECT_UNKNOWN_DATASET),
        (lambda b: proposal("/A/B/AOD", blocks=("nope",)), REJECT_UNKNOWN_BLOCK),
        (lambda b: proposal("/Bad/B/AOD"), REJECT_NOT_VALID),
        (lambda b: proposal("/Lost/B/AOD"), REJECT_NO_SOURCE),
        (lambda b: proposal("/A/B/AOD", sites=("T1_XX_Tape",)), REJECT_NOT_TARGET),
        (lambda b: proposal("/A/B/AOD", sites=("T2_Full",)), REJECT_OCCUPANCY),
        (lambda b: proposal("/A/B/AOD", sites=("T2_Wait",)), REJECT_NOT_TARGET),
        (lambda b: proposal("/A/B/AOD", sites=("T2_Has",)), REJECT_ALREADY_THERE),
    ],
)
def test_every_rejection_is_counted_with_its_reason(make: object, reason: str) -> None:
    b = grid(
        {"T2_Full": 1, "T2_Wait": 100, "T2_Has": 100},
        statuses={"T2_Wait": SiteStatus.WAITROOM},
    )
    sample(b, "/A/B/AOD", at=("T1_XX_Tape", "T2_Has"))
    b.dataset("/Bad/B/AOD", status=DatasetStatus.INVALID).replica("/Bad/B/AOD", "T1_XX_Tape")
    b.dataset("/Lost/B/AOD").replica("/Lost/B/AOD", "T1_XX_Tape", incomplete=(0,))
    inventory = b.build()
    result = run_plan(inventory, [make(b)])  # type: ignore[operator]
    assert result.copies == []
    assert result.rejection_counts() == {reason: 1}


def test_no_site_is_pushed_past_its_target_occupancy() -> None:
    b = grid({"T2_A": 10, "T2_B": 20, "T2_C": 7})
    names = [sample(b, f"/D{i}/B/AOD") for i in range(40)]
    inventory = b.build()
    for seed in range(5):
        result = run_plan(inventory, [proposal(n) for n in names], target_occupancy=0.6, seed=seed)
        assert result.copies
        assert result.rejection_counts()[REJECT_OCCUPANCY] > 0
        for site, added in result.site_bytes.items():
            quota = {"T2_A": 10, "T2_B": 20, "T2_C": 7}[site] * GB
            assert added <= 0.6 * quota


def test_the_cycle_volume_cap_holds() -> None:
    b = grid({"T2_A": 1000, "T2_B": 1000})
    names = [sample(b, f"/D{i}/B/AOD") for i in range(10)]
    result = run_plan(b.build(), [proposal(n) for n in names], max_cycle_volume=7 * GB)
    assert result.volume <= 7 * GB
    assert len(result.copies) == 3
    assert result.rejection_counts() == {REJECT_VOLUME: 7}


def test_the_pending_fraction_limits_what_may_be_in_flight_at_a_site() -> None:
    b = grid({"T2_A": 100})
    names = [sample(b, f"/D{i}/B/AOD") for i in range(5)]
    result = run_plan(b.build(), [proposal(n) for n in names], max_pending_fraction=0.05)
    assert len(result.copies) == 2  # 4 GB of 100 GB; a third 2 GB would be 6 %
    assert result.rejection_counts() == {REJECT_PENDING: 3}


def test_only_ready_sites_matching_the_target_patterns_receive_data() -> None:
    b = grid(
        {"T2_A": 100, "T2_Veto": 100, "T2_Morgue": 100, "T3_X": 100},
        statuses={"T2_Morgue": SiteStatus.MORGUE},
    )
    names = [sample(b, f"/D{i}/B/AOD") for i in range(6)]
    result = run_plan(b.build(), [proposal(n) for n in names], target_sites=("T2_*", "!T2_Veto"))
    assert {copy.site for copy in result.copies} == {"T2_A"}


def test_a_site_with_a_poor_transfer_record_receives_less_new_data_than_an_equal_healthy_one() -> (
    None
):
    b = grid({"T2_Good": 1000, "T2_Poor": 1000})
    names = [sample(b, f"/D{i:03d}/B/AOD", blocks=1) for i in range(200)]
    inventory = b.build()
    stats = {"T2_Good": SiteStats(reliability=0.95), "T2_Poor": SiteStats(reliability=0.3)}
    result = run_plan(inventory, [proposal(n) for n in names], stats=stats)
    assert len(result.copies) == 200
    assert result.site_bytes["T2_Poor"] < 0.6 * result.site_bytes["T2_Good"]


def test_sites_below_the_minimum_reliability_receive_nothing() -> None:
    b = grid({"T2_Good": 100, "T2_Poor": 100})
    stats = {"T2_Poor": SiteStats(reliability=0.3)}
    sample(b, "/A/B/AOD")
    only_poor = run_plan(
        b.build(), [proposal("/A/B/AOD", sites=("T2_Poor",))], stats=stats, min_reliability=0.5
    )
    assert only_poor.rejection_counts() == {REJECT_UNRELIABLE: 1}


def test_free_space_attracts_data() -> None:
    b = grid({"T2_Empty": 100, "T2_Busy": 100})
    sample(b, "/Big/B/AOD", blocks=75, at=("T1_XX_Tape", "T2_Busy"))
    names = [sample(b, f"/D{i:03d}/B/AOD", blocks=1) for i in range(30)]
    result = run_plan(b.build(), [proposal(n) for n in names])
    assert result.site_bytes["T2_Empty"] > 2 * result.site_bytes.get("T2_Busy", 0) > 0


def test_a_plan_is_a_function_of_its_seed() -> None:
    b = grid({"T2_A": 100, "T2_B": 100, "T2_C": 100})
    names = [sample(b, f"/D{i}/B/AOD", blocks=1) for i in range(20)]
    inventory = b.build()

    def sites(seed: int) -> list[str]:
        return [c.site for c in run_plan(inventory, [proposal(n) for n in names], seed=seed).copies]

    assert sites(1) == sites(1)
    assert len({tuple(sites(seed)) for seed in range(4)}) > 1


def test_two_proposals_for_one_dataset_go_to_two_sites() -> None:
    b = grid({"T2_A": 100, "T2_B": 100})
    sample(b, "/A/B/AOD")
    result = run_plan(b.build(), [proposal("/A/B/AOD")] * 3)
    assert sorted(c.site for c in result.copies) == ["T2_A", "T2_B"]
    assert result.rejection_counts() == {REJECT_ALREADY_THERE: 1}
    assert len([op for op in result.changeset().ops if op.kind == "upsert_dataset_replica"]) == 2


def test_merge_favours_the_lower_priority_number_without_starving_the_others() -> None:
    high = PluginProposals(
        plugin="high", priority=1, proposals=tuple(proposal(f"/H{i}/B/AOD") for i in range(50))
    )
    low = PluginProposals(
        plugin="low", priority=3, proposals=tuple(proposal(f"/L{i}/B/AOD") for i in range(50))
    )
    merged = merge_proposals([high, low], random.Random(7))
    first = [p.dataset[1] for p in merged[:40]]
    assert first.count("H") > 2 * first.count("L") > 0
    assert len(merged) == 100


def test_a_priority_zero_plugin_drops_the_finite_priority_ones() -> None:
    zero = PluginProposals(plugin="z", priority=0, proposals=(proposal("/Z/B/AOD"),))
    one = PluginProposals(plugin="o", priority=1, proposals=(proposal("/O/B/AOD"),))
    assert [p.dataset for p in merge_proposals([one, zero], random.Random(0))] == ["/Z/B/AOD"]


def test_an_unlimited_quota_always_fits() -> None:
    b = grid({"T2_A": 0})
    b.quota("T2_A", "AnalysisOps", -1)
    sample(b, "/A/B/AOD")
    inventory = b.build()
    result = plan(
        inventory,
        [PluginProposals(plugin="t", priority=1, proposals=(proposal("/A/B/AOD"),))],
        {},
        options(),
        now=NOW,
    )
    assert [c.site for c in result.copies] == ["T2_A"]
