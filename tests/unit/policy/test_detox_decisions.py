"""Golden decisions of the real standing policies and a campaign on hand-built replicas."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.model import DatasetStatus, Inventory, Site, SitePartition, SiteStatus
from dynamo.policy import (
    Action,
    Attributes,
    CompiledPolicy,
    EvaluationContext,
    compile_policy,
    parse_policy,
)
from dynamo.policy.attributes import ENFORCER_PROTECTED, NUM_ACCESS, USAGE_RANK

from .builders import GB, NOW, POLICIES, Builder, block_name, replica_of

MIT, DESY, FNAL, TAPE, CERN = (
    "T2_US_MIT",
    "T2_DE_DESY",
    "T1_US_FNAL_Disk",
    "T1_US_FNAL_MSS",
    "T2_CH_CERN",
)


def _policy(path: Path) -> CompiledPolicy:
    return compile_policy(parse_policy(path.read_text(), file=path.name), now=NOW)


def _summary(
    policy: CompiledPolicy, inventory: Inventory, dataset: str, site: str, ctx: EvaluationContext
) -> list[tuple[str, list[int], int]]:
    """(action, block indices, line number) for each decision on one replica."""
    decisions = policy.evaluate(replica_of(inventory, dataset, site), ctx)
    indices = {block_name(dataset, i): i for i in range(4)}
    return [
        (d.action.value, sorted(indices[br.block.name] for br in d.block_replicas), d.line.number)
        for d in decisions
    ]


def _sites() -> Builder:
    return Builder().site(MIT).site(DESY).site(FNAL).site(TAPE, mss=True).site(CERN)


def _with_tape(
    b: Builder, name: str, *, age_days: float = 200, blocks: list[int] | None = None
) -> Builder:
    return b.dataset(name, age_days=age_days).replica(name, TAPE, "DataOps", blocks=blocks)


@pytest.fixture(scope="module")
def physics_world() -> tuple[Inventory, EvaluationContext]:
    b = _sites()
    b.dataset("/A/Run2016-v1/AOD").replica("/A/Run2016-v1/AOD", TAPE, "DataOps")
    _with_tape(b, "/B/Run2016-v1/AOD").replica("/B/Run2016-v1/AOD", MIT)
    b.replica("/B/Run2016-v1/AOD", DESY).replica("/B/Run2016-v1/AOD", FNAL)
    b.dataset("/C/Run2016-v1/AOD", status=DatasetStatus.DEPRECATED).replica(
        "/C/Run2016-v1/AOD", MIT
    )
    _with_tape(b, "/Dprot/X-v1/AOD").replica("/Dprot/X-v1/AOD", MIT)
    _with_tape(b, "/D/X-v1/AOD", blocks=[0]).replica("/D/X-v1/AOD", MIT)
    _with_tape(b, "/E/Y-v1/RECO", age_days=100).replica("/E/Y-v1/RECO", MIT, owners={0: "DataOps"})
    _with_tape(b, "/F/Z-v1/MINIAOD").replica("/F/Z-v1/MINIAOD", MIT, incomplete=(1,))
    _with_tape(b, "/G/W-v1/MINIAODSIM").replica("/G/W-v1/MINIAODSIM", MIT)
    _with_tape(b, "/H/V-v1/AOD").replica("/H/V-v1/AOD", MIT)
    b.replica("/H/V-v1/AOD", DESY).replica("/H/V-v1/AOD", FNAL)
    _with_tape(b, "/I/U-v1/AOD").replica("/I/U-v1/AOD", MIT)
    b.replica("/I/U-v1/AOD", DESY, blocks=[0], incomplete=(0,))
    inventory = b.build()
    attributes = Attributes()
    attributes.lock("/B/Run2016-v1/AOD", MIT, [block_name("/B/Run2016-v1/AOD", 0)])
    attributes.set_dataset(USAGE_RANK, "/B/Run2016-v1/AOD", 150.0)
    attributes.set_replica(ENFORCER_PROTECTED, "/Dprot/X-v1/AOD", MIT, True)
    for name in ["/D/X-v1/AOD", "/H/V-v1/AOD", "/I/U-v1/AOD"]:
        attributes.set_dataset(NUM_ACCESS, name, 5)
    partition = inventory.partitions["Physics"]
    return inventory, EvaluationContext(now=NOW, attributes=attributes, partition=partition)


PHYSICS_CASES = [
    ("/A/Run2016-v1/AOD", TAPE, [("Ignore", [0, 1], 12)]),
    ("/B/Run2016-v1/AOD", MIT, [("ProtectBlock", [0], 14), ("Dismiss", [1], 52)]),
    ("/C/Run2016-v1/AOD", MIT, [("Delete", [0, 1], 16)]),
    ("/Dprot/X-v1/AOD", MIT, [("Protect", [0, 1], 19)]),
    ("/D/X-v1/AOD", MIT, [("ProtectBlock", [1], 22), ("Protect", [0], 57)]),
    ("/E/Y-v1/RECO", MIT, [("DismissBlock", [0], 38), ("Dismiss", [1], 47)]),
    ("/F/Z-v1/MINIAOD", MIT, [("Protect", [0, 1], 44)]),
    ("/G/W-v1/MINIAODSIM", MIT, [("Protect", [0, 1], 58)]),
    ("/H/V-v1/AOD", MIT, [("Dismiss", [0, 1], 63)]),
    ("/I/U-v1/AOD", MIT, [("ProtectBlock", [0], 24), ("Dismiss", [1], 63)]),
]


@pytest.mark.parametrize(
    ("dataset", "site", "expected"), PHYSICS_CASES, ids=[c[0] for c in PHYSICS_CASES]
)
def test_physics_decides_each_replica_by_its_first_matching_line(
    physics_world: tuple[Inventory, EvaluationContext],
    dataset: str,
    site: str,
    expected: list[tuple[str, list[int], int]],
) -> None:
    inventory, ctx = physics_world
    policy = _policy(POLICIES / "detox" / "Physics.txt")
    assert _summary(policy, inventory, dataset, site, ctx) == expected


def test_a_decision_carries_the_text_of_its_line(
    physics_world: tuple[Inventory, EvaluationContext],
) -> None:
    inventory, ctx = physics_world
    policy = _policy(POLICIES / "detox" / "Physics.txt")
    decisions = policy.evaluate(replica_of(inventory, "/G/W-v1/MINIAODSIM", MIT), ctx)
    assert decisions[-1].line.text == (
        "Protect dataset.name == /*/*/MINIAOD* and replica.num_full_other_copy_common_owner < 2"
    )
    assert decisions[-1].action is Action.PROTECT


def test_physics_targets_disk_and_tape_sites_but_not_tier3(
    physics_world: tuple[Inventory, EvaluationContext],
) -> None:
    _, ctx = physics_world
    policy = _policy(POLICIES / "detox" / "Physics.txt")
    b = _sites().site("T3_US_MIT")
    world = b.build()
    partition = world.partitions["Physics"]
    targets = {
        name: policy.is_target(site, site.partitions[partition], ctx)
        for name, site in world.sites.items()
    }
    assert targets == {
        MIT: True,
        DESY: True,
        FNAL: True,
        TAPE: True,
        CERN: True,
        "T3_US_MIT": False,
    }


def test_physics_triggers_above_ninety_percent_and_on_morgue_sites() -> None:
    b = _sites().site("T2_IT_Bari", status=SiteStatus.MORGUE)
    b.dataset("/H/V-v1/AOD", blocks=1, block_size=95 * GB).replica("/H/V-v1/AOD", MIT)
    b.quota(MIT, "AnalysisOps", 100 * GB).quota(DESY, "AnalysisOps", 100 * GB)
    inventory = b.build()
    policy = _policy(POLICIES / "detox" / "Physics.txt")
    partition = inventory.partitions["Physics"]
    ctx = EvaluationContext(now=NOW, partition=partition)

    def usage(site: str) -> tuple[Site, SitePartition]:
        return inventory.sites[site], inventory.sites[site].partitions[partition]

    assert policy.is_triggered(*usage(MIT), ctx)
    assert not policy.is_triggered(*usage(DESY), ctx)
    assert policy.is_triggered(*usage("T2_IT_Bari"), ctx)
    assert not policy.is_done(*usage(MIT), ctx)
    assert policy.is_done(*usage(DESY), ctx)


def test_physics_orders_by_decreasing_usage_rank_then_increasing_size(
    physics_world: tuple[Inventory, EvaluationContext],
) -> None:
    inventory, ctx = physics_world
    policy = _policy(POLICIES / "detox" / "Physics.txt")
    key = policy.order_key(replica_of(inventory, "/B/Run2016-v1/AOD", MIT), ctx)
    assert key == (-150.0, float(2 * GB))


@pytest.fixture(scope="module")
def relval_world() -> Inventory:
    b = _sites()
    shared = "/RelValTTbar/CMSSW_12_0_0-v1/GEN-SIM"
    b.dataset(shared).replica(shared, MIT, "RelVal").replica(shared, CERN, "RelVal")
    for name, age in [
        ("/RelValTTbar/CMSSW_12_0_0-v1/GEN-SIM-RECO", 400),
        ("/RelValTTbar/CMSSW_12_0_0_pre3-v1/GEN-SIM", 200),
        ("/RelValTTbar/CMSSW_12_0_0_pre3-v1/DQMIO", 400),
        ("/RelValTTbar/CMSSW_12_0_0_pre3-v1/AODSIM", 20),
    ]:
        b.dataset(name, age_days=age).replica(name, CERN, "RelVal")
    return b.build()


@pytest.mark.parametrize(
    ("dataset", "site", "expected"),
    [
        ("/RelValTTbar/CMSSW_12_0_0-v1/GEN-SIM", MIT, [("Delete", [0, 1], 15)]),
        ("/RelValTTbar/CMSSW_12_0_0-v1/GEN-SIM", CERN, [("Dismiss", [0, 1], 17)]),
        ("/RelValTTbar/CMSSW_12_0_0_pre3-v1/AODSIM", CERN, [("Protect", [0, 1], 19)]),
        ("/RelValTTbar/CMSSW_12_0_0-v1/GEN-SIM-RECO", CERN, [("Protect", [0, 1], 21)]),
        ("/RelValTTbar/CMSSW_12_0_0_pre3-v1/GEN-SIM", CERN, [("Protect", [0, 1], 23)]),
        ("/RelValTTbar/CMSSW_12_0_0_pre3-v1/DQMIO", CERN, [("Dismiss", [0, 1], 25)]),
    ],
)
def test_relval_decides_with_its_site_lists_and_regexes(
    relval_world: Inventory, dataset: str, site: str, expected: list[tuple[str, list[int], int]]
) -> None:
    ctx = EvaluationContext(now=NOW, partition=relval_world.partitions["RelVal"])
    policy = _policy(POLICIES / "detox" / "RelVal.txt")
    assert _summary(policy, relval_world, dataset, site, ctx) == expected


def test_express_peels_recent_blocks_and_protects_this_years_alca() -> None:
    fresh, old = (
        "/StreamExpress/Run2023C-Express-v1/ALCARECO",
        "/StreamExpress/Run2022C-Express-v1/ALCARECO",
    )
    b = _sites().dataset(fresh, age_days=10).dataset(old, age_days=400)
    b.replica(fresh, CERN, "express", block_ages={0: 10, 1: 100}).replica(
        old, CERN, "express", age_days=400
    )
    inventory = b.build()
    ctx = EvaluationContext(now=NOW, partition=inventory.partitions["Express"])
    policy = _policy(POLICIES / "detox" / "Express.txt")
    assert _summary(policy, inventory, fresh, CERN, ctx) == [
        ("ProtectBlock", [0], 12),
        ("Protect", [1], 14),
    ]
    assert _summary(policy, inventory, old, CERN, ctx) == [("Dismiss", [0, 1], 17)]


def test_the_large_campaign_protects_listed_names_and_deletes_its_globs() -> None:
    listed = "/QCD_HT500to700_GenJets5_TuneCUETP8M1_13TeV-madgraphMLM-pythia8/RunIISpring16MiniAODv2-PUSpring16_80X_mcRun2_asymptotic_2016_miniAODv2_v0-v1/MINIAODSIM"
    globbed, other, untaped, locked = (
        "/SingleMu/Run2016B-PromptReco-v1/AOD",
        "/SingleMu/Run2018A-17Sep2018-v1/AOD",
        "/SingleMu/Run2016B-PromptReco-v1/RECO",
        "/SingleMu/Run2016B-PromptReco-v3/AOD",
    )
    b = _sites()
    for name in [listed, globbed, other, locked]:
        _with_tape(b, name).replica(name, MIT)
    b.dataset(untaped).replica(untaped, MIT)
    inventory = b.build()
    attributes = Attributes()
    attributes.lock(locked, MIT)
    ctx = EvaluationContext(now=NOW, attributes=attributes)
    policy = _policy(POLICIES / "detox" / "campaigns" / "171115_disk.txt")
    assert _summary(policy, inventory, locked, MIT, ctx) == [("Protect", [0, 1], 10)]
    assert _summary(policy, inventory, untaped, MIT, ctx) == [("Protect", [0, 1], 14)]
    assert _summary(policy, inventory, listed, MIT, ctx) == [("Protect", [0, 1], 2000)]
    assert _summary(policy, inventory, globbed, MIT, ctx) == [("Delete", [0, 1], 3973)]
    assert _summary(policy, inventory, other, MIT, ctx) == [("Protect", [0, 1], 4005)]


def test_an_indexed_campaign_decides_like_the_same_lines_without_index() -> None:
    text = (POLICIES / "detox" / "campaigns" / "171115_disk.txt").read_text()
    policy = parse_policy(text)
    compiled = compile_policy(policy, now=NOW)
    plan = compiled.plan("/SingleMu/Run2018A-17Sep2018-v1/AOD")
    assert [line.number for line in plan][:2] == [10, 14]
    assert plan[-1].condition is None
    assert len(plan) < 40
