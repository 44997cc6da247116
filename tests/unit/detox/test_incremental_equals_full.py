"""The incremental planner decides exactly what the original's full re-evaluation decides.

Inventories come from the policy benchmark's generator (real CMS dataset names, disk and tape
copies, incomplete replicas, locks, popularity), with quotas set so that about half of the disk
sites start above the high watermark; the policies are the real CMS ones.
"""

from __future__ import annotations

import random

import pytest

from dynamo.bench.policy import NOW, synthetic_inventory
from dynamo.detox import DetoxOptions, DetoxPlan, plan
from dynamo.model import ChangeSet, Inventory, SetQuota, StorageType, describe
from dynamo.policy import Attributes, compile_policy, parse_policy
from unit.policy.builders import PARTITIONS, POLICIES

OWNERS = ("AnalysisOps", "AnalysisOps", "RelVal", None)


def _world(seed: int, replicas: int = 300) -> tuple[Inventory, Attributes]:
    inventory, attributes = synthetic_inventory(
        PARTITIONS.read_text(), dataset_replicas=replicas, seed=seed, now=NOW, disk_owners=OWNERS
    )
    rng = random.Random(seed)
    ops = []
    for site in sorted(inventory.sites.values(), key=lambda s: s.name):
        if site.storage_type is not StorageType.DISK:
            continue
        for name in ("AnalysisOps", "DataOpsDisk", "RelVal", "Unsubscribed", "AllDisk"):
            used = site.partitions[inventory.partitions[name]].physical_bytes
            quota = int(used / rng.uniform(0.75, 1.05)) if used else 10**12
            ops.append(SetQuota(site=site.name, partition=name, quota=quota))
    inventory.apply(ChangeSet(tuple(ops)))
    return inventory, attributes


def _run(
    inventory: Inventory, attributes: Attributes, policy_file: str, **options: object
) -> DetoxPlan:
    path = POLICIES / "detox" / policy_file
    policy = compile_policy(parse_policy(path.read_text(), file=path.name), now=NOW)
    partition = inventory.partitions[policy.policy.partition or "Physics"]
    return plan(
        inventory,
        policy,
        partition,
        attributes,
        now=NOW,
        options=DetoxOptions(**options),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("seed", range(6))
def test_incremental_and_full_reevaluation_give_the_same_plan(seed: int) -> None:
    inventory, attributes = _world(seed)
    before = describe(inventory)
    fast = _run(inventory, attributes, "Physics.txt", deletion_per_iteration=0.02)
    full = _run(
        inventory, attributes, "Physics.txt", deletion_per_iteration=0.02, full_reevaluation=True
    )
    assert describe(inventory) == before
    assert fast.deletions, "the world should make Detox delete something"
    assert fast.deletions == full.deletions
    assert fast.decisions == full.decisions
    assert fast.sites == full.sites
    assert fast.ignored_replicas == full.ignored_replicas
    assert fast.evaluations < full.evaluations


@pytest.mark.parametrize(
    ("policy_file", "deletes"),
    [("RelVal.txt", True), ("Unsubscribed.txt", True), ("AllDisk.txt", False)],
)
def test_the_other_standing_policies_agree_too(policy_file: str, deletes: bool) -> None:
    inventory, attributes = _world(11)
    fast = _run(inventory, attributes, policy_file)
    full = _run(inventory, attributes, policy_file, full_reevaluation=True)
    assert bool(fast.deletions) is deletes
    assert (fast.deletions, fast.decisions, fast.sites) == (
        full.deletions,
        full.decisions,
        full.sites,
    )


def test_the_same_seed_gives_the_same_plan_and_another_seed_may_not() -> None:
    inventory, attributes = _world(3)
    first = _run(inventory, attributes, "Physics.txt", seed=7)
    again = _run(inventory, attributes, "Physics.txt", seed=7)
    assert first == again


def test_a_4000_line_campaign_agrees_too() -> None:
    """Its deletions need datasets the synthetic world lacks: the decisions are compared."""
    inventory, attributes = _world(5, replicas=150)
    fast = _run(inventory, attributes, "campaigns/171115_disk.txt", deletion_per_iteration=0.05)
    full = _run(
        inventory,
        attributes,
        "campaigns/171115_disk.txt",
        deletion_per_iteration=0.05,
        full_reevaluation=True,
    )
    assert fast.decisions
    assert (fast.deletions, fast.decisions, fast.sites, fast.ignored_replicas) == (
        full.deletions,
        full.decisions,
        full.sites,
        full.ignored_replicas,
    )
