"""The partitions file, membership of block replicas, and the compiler the model calls."""

from __future__ import annotations

import pytest

from dynamo.model import PartitionScope, UpsertPartition
from dynamo.policy import PolicySyntaxError, load_partitions, partition_compiler

from .builders import NOW, PARTITIONS, Builder, block_name

MIT, TAPE = "T2_US_MIT", "T1_US_FNAL_MSS"
EXPRESS = "/StreamExpress/Run2023C-Express-v1/ALCARECO"


def _memberships() -> dict[tuple[str, str, int], set[str]]:
    b = Builder().site(MIT).site(TAPE, mss=True)
    b.dataset("/A/B/AOD").replica("/A/B/AOD", MIT, owners={1: "DataOps"})
    b.replica("/A/B/AOD", TAPE, "DataOps")
    b.dataset(EXPRESS).replica(EXPRESS, MIT, "express")
    b.dataset("/X/Y/RAW").replica("/X/Y/RAW", MIT, None)
    inventory = b.build()
    found = {}
    for replica in inventory.iter_block_replicas():
        index = int(replica.block.name[-1])
        names = {p.name for p in inventory.partitions if p.contains(replica)}
        found[(replica.block.dataset.name, replica.site.name, index)] = names
    return found


def test_block_replicas_fall_in_the_partitions_of_the_real_file() -> None:
    found = _memberships()
    assert found[("/A/B/AOD", MIT, 0)] == {"AnalysisOps", "Physics", "AllDisk"}
    assert found[("/A/B/AOD", MIT, 1)] == {"DataOpsDisk", "Physics", "DataOps", "AllDisk"}
    assert found[("/A/B/AOD", TAPE, 0)] == {"Tape", "PhysicsTape", "Physics", "DataOps"}
    assert found[(EXPRESS, MIT, 0)] == {"Express", "AllDisk"}
    assert found[("/X/Y/RAW", MIT, 0)] == {"Unsubscribed"}


def test_the_partitions_file_loads_as_upserts_in_file_order() -> None:
    ops = load_partitions(PARTITIONS.read_text()).ops
    assert [op.name for op in ops][:3] == ["AnalysisOps", "DataOpsDisk", "RelVal"]  # type: ignore[attr-defined]
    assert ops[-2] == UpsertPartition(name="DataOps", subpartitions=("DataOpsDisk", "PhysicsTape"))
    assert ops[0] == UpsertPartition(
        name="AnalysisOps",
        condition="blockreplica.owner == AnalysisOps and site.storage_type == DISK",
    )


OWNER, SITE, DATASET = PartitionScope.OWNER, PartitionScope.SITE, PartitionScope.DATASET


@pytest.mark.parametrize(
    ("condition", "scope"),
    [
        ("blockreplica.owner == AnalysisOps and site.storage_type == DISK", OWNER | SITE),
        ("blockreplica.owner == express and dataset.name == /*/*Express*/*", OWNER | DATASET),
        ("site.storage_type == MSS", SITE),
        ("dataset.on_tape == FULL", PartitionScope.BLOCK_REPLICA),
        ("blockreplica.last_update older_than 30 days ago", PartitionScope.BLOCK_REPLICA),
        ("replica.incomplete", PartitionScope.BLOCK_REPLICA),
    ],
)
def test_the_compiler_says_what_a_condition_reads_so_membership_can_be_cached(
    condition: str, scope: PartitionScope
) -> None:
    _, found = partition_compiler(now=NOW)(condition)
    assert found == scope


def test_a_bad_partition_condition_raises_a_value_error_naming_the_problem() -> None:
    compile_text = partition_compiler(now=NOW)
    with pytest.raises(PolicySyntaxError, match=r"did you mean 'blockreplica\.owner'") as caught:
        compile_text("blockreplica.ownr == X")
    assert isinstance(caught.value, ValueError)


def test_a_per_replica_partition_sees_block_replica_values() -> None:
    b = Builder().site(MIT)
    b.dataset("/A/B/AOD").replica("/A/B/AOD", MIT, block_ages={0: 10, 1: 100})
    inventory = b.build()
    predicate, _ = partition_compiler(now=NOW)("blockreplica.last_update newer_than 30 days ago")
    recent = {r.block.name for r in inventory.iter_block_replicas() if predicate(r)}
    assert recent == {block_name("/A/B/AOD", 0)}
