"""The real CMS Express policy on a hand-built T2_CH_CERN: a golden plan, worked out by hand.

Express.txt: targets T2_CH_CERN, ``When always`` / ``Until never`` (every candidate goes),
protects locked block replicas, block replicas changed in the last 60 days, and ALCA replicas
whose first block arrived this year; everything else is dismissed, so deleted, unless the hard
last-copy rule keeps it.
"""

from __future__ import annotations

from dynamo.detox import SAFETY_LINE, DetoxOptions, Verdict, plan
from dynamo.policy import Attributes, compile_policy, parse_policy
from unit.policy.builders import GB, NOW, POLICIES, Builder, block_name

EXPRESS = POLICIES / "detox" / "Express.txt"
CERN = "T2_CH_CERN"
TAPE = "T0_CH_CERN_MSS"
OLD = "/StreamExpress/Run2018D-Express-v1/FEVT"
RECENT = "/StreamExpressCosmics/Run2018D-Express-v1/FEVT"
ALCA = "/StreamExpressAlignment/Run2023C-Express-v1/ALCARECO"
LOCKED = "/StreamExpressPA/Run2016C-Express-v1/FEVT"
ONLY = "/StreamHIExpress/Run2018D-Express-v1/FEVT"
OTHER = "/SingleMuon/Run2018D-PromptReco-v2/AOD"
RECENT_LINE = "ProtectBlock blockreplica.last_update newer_than 60 days ago"
ALCA_LINE = (
    "Protect dataset.name == /*/*/ALCA* and replica.first_block_created newer_than January 1"
)


def _world() -> Builder:
    b = Builder().site(CERN).site(TAPE, mss=True).quota(CERN, "Express", 100 * GB)
    for name in (OLD, RECENT, ALCA, LOCKED, ONLY, OTHER):
        b.dataset(name, blocks=2)
    b.replica(OLD, CERN, "express")
    b.replica(RECENT, CERN, "express", block_ages={0: 10})
    b.replica(ALCA, CERN, "express", age_days=100)
    b.replica(LOCKED, CERN, "express")
    b.replica(ONLY, CERN, "express")
    b.replica(OTHER, CERN, "AnalysisOps")
    for name in (OLD, RECENT, ALCA, LOCKED, OTHER):
        b.replica(name, TAPE, "DataOps")
    return b


def test_the_express_policy_plan() -> None:
    inventory = _world().build()
    attributes = Attributes()
    attributes.lock(LOCKED, CERN, blocks=[block_name(LOCKED, 0)])
    policy = compile_policy(parse_policy(EXPRESS.read_text(), file=EXPRESS.name), now=NOW)
    result = plan(
        inventory,
        policy,
        inventory.partitions["Express"],
        attributes,
        now=NOW,
        options=DetoxOptions(),
    )
    assert [s.name for s in result.sites] == [CERN]
    assert result.sites[0].triggered
    deleted = sorted((d.dataset, d.block) for d in result.deletions)
    assert deleted == sorted(
        [
            (OLD, block_name(OLD, 0)),
            (OLD, block_name(OLD, 1)),
            (RECENT, block_name(RECENT, 1)),
            (LOCKED, block_name(LOCKED, 1)),
        ]
    )
    lines = policy.policy.lines
    verdicts = {
        (row.dataset, row.verdict, lines[row.line_id].text if row.line_id >= 0 else "safety")
        for row in result.decisions
    }
    assert (RECENT, Verdict.PROTECT, RECENT_LINE) in verdicts
    assert (LOCKED, Verdict.PROTECT, "ProtectBlock blockreplica.is_locked") in verdicts
    assert (ALCA, Verdict.PROTECT, ALCA_LINE) in verdicts
    # no other copy of ONLY exists: the safety rule protects it, and says so
    assert {(row.verdict, row.line_id) for row in result.decisions if row.dataset == ONLY} == {
        (Verdict.PROTECT, SAFETY_LINE)
    }
    assert result.safety_bites == 2
    # the AnalysisOps dataset is not in the Express partition: no decision at all
    assert all(row.dataset != OTHER for row in result.decisions)
