from __future__ import annotations

import gc
import uuid

import pytest

from dynamo.errors import InvalidChangeSetError
from dynamo.model import (
    Block,
    ChangeSet,
    Dataset,
    DatasetStatus,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteGroup,
    DeleteSite,
    Inventory,
    Operation,
    SetQuota,
    StorageType,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertPartition,
    UpsertSite,
    describe,
)

from .conftest import BLOCK, BLOCK2, DATASET, TB, base_ops, toy_compiler


def usage(inventory: Inventory, site: str, partition: str) -> tuple[int, int]:
    found = inventory.site_partition(site, partition)
    return found.physical_bytes, found.projected_bytes


def test_dataset_size_is_the_sum_of_its_blocks(inventory: Inventory) -> None:
    dataset = inventory.datasets[DATASET]
    assert (dataset.size, dataset.num_files) == (TB + TB // 2, 140)


def test_block_names_that_are_uuids_are_held_as_ints_and_read_back_as_text(
    inventory: Inventory,
) -> None:
    block = inventory.find_block(DATASET, BLOCK)
    assert block is not None
    assert isinstance(block.internal_name, int)
    assert block.name == BLOCK
    assert block.full_name == f"{DATASET}#{BLOCK}"


def test_partition_usage_counts_physical_and_projected_bytes(inventory: Inventory) -> None:
    assert usage(inventory, "T2_US_MIT", "AnalysisOps") == (TB, TB)
    assert usage(inventory, "T2_US_MIT", "DataOpsDisk") == (TB // 4, TB // 2)
    assert usage(inventory, "T2_US_MIT", "Physics") == (TB + TB // 4, TB + TB // 2)
    assert usage(inventory, "T2_US_MIT", "PhysicsTape") == (0, 0)


def test_superpartition_quota_is_the_sum_of_its_subpartitions(inventory: Inventory) -> None:
    physics = inventory.site_partition("T2_US_MIT", "Physics")
    assert physics.effective_quota() == 3 * TB
    assert physics.occupancy() == pytest.approx(1.25 / 3)
    assert physics.occupancy(physical=False) == pytest.approx(1.5 / 3)


def test_occupancy_of_a_zero_quota_is_infinite_and_of_a_negative_quota_zero(
    inventory: Inventory,
) -> None:
    tape = inventory.site_partition("T2_US_MIT", "PhysicsTape")
    assert tape.occupancy() == 0.0
    inventory.apply(ChangeSet.of([SetQuota(site="T2_US_MIT", partition="AnalysisOps", quota=0)]))
    assert inventory.site_partition("T2_US_MIT", "AnalysisOps").occupancy() == float("inf")
    inventory.apply(ChangeSet.of([SetQuota(site="T2_US_MIT", partition="AnalysisOps", quota=-1)]))
    assert inventory.site_partition("T2_US_MIT", "AnalysisOps").occupancy() == 0.0


def test_replica_completeness(inventory: Inventory) -> None:
    replica = inventory.sites["T2_US_MIT"].dataset_replicas[inventory.datasets[DATASET]]
    complete = inventory.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    partial = inventory.find_block_replica(DATASET, BLOCK2, "T2_US_MIT")
    assert complete is not None
    assert complete.is_complete()
    assert partial is not None
    assert not partial.is_complete()
    assert not replica.is_complete()
    assert not replica.is_full()
    assert replica.size() == TB + TB // 4
    assert replica.size(physical=False) == TB + TB // 2


def test_changing_a_replica_owner_moves_it_between_partitions(inventory: Inventory) -> None:
    inventory.apply(
        ChangeSet.of(
            [UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT", group="DataOps")]
        )
    )
    assert usage(inventory, "T2_US_MIT", "AnalysisOps") == (0, 0)
    assert usage(inventory, "T2_US_MIT", "DataOpsDisk") == (TB + TB // 4, TB + TB // 2)


def test_growing_a_block_changes_projected_usage_but_not_physical(inventory: Inventory) -> None:
    inventory.apply(
        ChangeSet.of([UpsertBlock(dataset=DATASET, name=BLOCK, size=2 * TB, num_files=200)])
    )
    assert usage(inventory, "T2_US_MIT", "AnalysisOps") == (TB, 2 * TB)
    replica = inventory.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    assert replica is not None
    assert not replica.is_complete()
    assert inventory.datasets[DATASET].size == 2 * TB + TB // 2


def test_deleting_a_group_gives_its_replicas_to_the_null_group(inventory: Inventory) -> None:
    inventory.apply(ChangeSet.of([DeleteGroup(name="AnalysisOps")]))
    replica = inventory.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    assert replica is not None
    assert replica.group is inventory.null_group
    assert usage(inventory, "T2_US_MIT", "AnalysisOps") == (0, 0)


def test_changing_a_site_to_tape_reclassifies_its_replicas(inventory: Inventory) -> None:
    inventory.apply(ChangeSet.of([UpsertSite(name="T2_US_MIT", storage_type=StorageType.MSS)]))
    assert usage(inventory, "T2_US_MIT", "AnalysisOps") == (0, 0)
    assert usage(inventory, "T2_US_MIT", "PhysicsTape") == (TB + TB // 4, TB + TB // 2)


def test_redefining_a_partition_recomputes_membership(inventory: Inventory) -> None:
    inventory.apply(
        ChangeSet.of([UpsertPartition(name="AnalysisOps", condition="owner == DataOps")])
    )
    assert usage(inventory, "T2_US_MIT", "AnalysisOps") == (TB // 4, TB // 2)


@pytest.mark.parametrize(
    ("op", "counts"),
    [
        (
            DeleteDataset(name=DATASET),
            {"datasets": 0, "blocks": 0, "dataset_replicas": 0, "block_replicas": 0},
        ),
        (
            DeleteBlock(dataset=DATASET, name=BLOCK),
            {"datasets": 1, "blocks": 1, "dataset_replicas": 1, "block_replicas": 1},
        ),
        (
            DeleteDatasetReplica(dataset=DATASET, site="T2_US_MIT"),
            {"datasets": 1, "blocks": 2, "dataset_replicas": 0, "block_replicas": 0},
        ),
        (
            DeleteBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT"),
            {"datasets": 1, "blocks": 2, "dataset_replicas": 1, "block_replicas": 1},
        ),
        (
            DeleteSite(name="T2_US_MIT"),
            {"datasets": 1, "blocks": 2, "dataset_replicas": 0, "block_replicas": 0},
        ),
    ],
)
def test_deletions_cascade_down_the_graph(
    inventory: Inventory, op: Operation, counts: dict[str, int]
) -> None:
    inventory.apply(ChangeSet.of([op]))
    assert {k: inventory.counts()[k] for k in counts} == counts


def test_deletions_release_partition_usage(inventory: Inventory) -> None:
    inventory.apply(ChangeSet.of([DeleteDataset(name=DATASET)]))
    assert usage(inventory, "T2_US_MIT", "Physics") == (0, 0)


def test_applying_a_changeset_twice_is_harmless() -> None:
    once = Inventory(partition_compiler=toy_compiler)
    once.apply(base_ops())
    twice = Inventory(partition_compiler=toy_compiler)
    twice.apply(base_ops())
    twice.apply(base_ops())
    assert describe(once) == describe(twice)


def test_deleting_what_does_not_exist_is_a_no_op(inventory: Inventory) -> None:
    before = describe(inventory)
    inventory.apply(
        ChangeSet.of(
            [
                DeleteDataset(name="/No/Such/RAW"),
                DeleteBlock(dataset=DATASET, name="missing"),
                DeleteBlockReplica(dataset=DATASET, block=BLOCK, site="T1_US_FNAL_MSS"),
                DeleteSite(name="T3_XX_Nowhere"),
                DeleteGroup(name="Nobody"),
            ]
        )
    )
    assert describe(inventory) == before


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            [UpsertBlock(dataset="/No/Such/RAW", name="b")],
            "upsert_block: unknown dataset '/No/Such/RAW'",
        ),
        (
            [UpsertBlock(dataset=DATASET, name="b", size=-1)],
            "field 'size' has value -1; it cannot be negative",
        ),
        ([UpsertDataset(name="/A/B/C#x")], "cannot contain '#'"),
        ([UpsertDataset(name="")], "names are non-empty"),
        (
            [UpsertDatasetReplica(dataset=DATASET, site="T2_XX_Nowhere")],
            "unknown site 'T2_XX_Nowhere'",
        ),
        (
            [UpsertDatasetReplica(dataset=DATASET, site="T2_US_MIT", group="Nobody")],
            "unknown group 'Nobody'",
        ),
        (
            [UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T1_US_FNAL_MSS")],
            "no replica of dataset '/ZeroBias/Run2018D-PromptReco-v2/AOD' at site 'T1_US_FNAL_MSS'",
        ),
        (
            [UpsertBlockReplica(dataset=DATASET, block="nope", site="T2_US_MIT")],
            f"unknown block {DATASET}#nope",
        ),
        (
            [UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT", size=5)],
            "size and num_files are both given",
        ),
        (
            [UpsertFile(lfn="/store/x.root", dataset=DATASET, block="nope", size=1)],
            f"unknown block {DATASET}#nope",
        ),
        ([SetQuota(site="T2_US_MIT", partition="Physics", quota=1)], "is a superpartition"),
        ([SetQuota(site="T2_US_MIT", partition="Nope", quota=1)], "unknown partition 'Nope'"),
        ([UpsertPartition(name="Bad", condition="colour == red")], "unknown variable 'colour'"),
        ([UpsertPartition(name="Loop", subpartitions=("Loop",))], "cannot contain itself"),
        (
            [UpsertPartition(name="Both", condition="owner == X", subpartitions=("Physics",))],
            "not both",
        ),
        (
            [UpsertPartition(name="Physics", condition="owner == X")],
            "cannot change between plain and super",
        ),
        (
            [DeleteDataset(name=DATASET), UpsertBlock(dataset=DATASET, name=BLOCK)],
            "upsert_block: unknown dataset",
        ),
        (
            [
                DeleteSite(name="T2_US_MIT"),
                UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT"),
            ],
            "upsert_block_replica: unknown site",
        ),
        (
            [
                DeleteDatasetReplica(dataset=DATASET, site="T2_US_MIT"),
                UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT"),
            ],
            "no replica of dataset",
        ),
    ],
)
def test_an_invalid_changeset_is_rejected_whole_with_a_precise_error(
    inventory: Inventory, ops: list[Operation], message: str
) -> None:
    before = describe(inventory)
    leading = [UpsertDataset(name="/Fresh/Dataset-v1/AOD", status=DatasetStatus.VALID)]
    with pytest.raises(InvalidChangeSetError) as info:
        inventory.apply(ChangeSet.of(leading + ops))
    assert message in str(info.value)
    assert info.value.index == len(leading) + len(ops) - 1
    assert describe(inventory) == before


def test_objects_created_earlier_in_the_same_changeset_can_be_used() -> None:
    inventory = Inventory(partition_compiler=toy_compiler)
    inventory.apply(base_ops())
    inventory.apply(
        ChangeSet.of(
            [
                DeleteDataset(name=DATASET),
                UpsertDataset(name=DATASET),
                UpsertBlock(dataset=DATASET, name=BLOCK, size=10, num_files=1),
                UpsertDatasetReplica(dataset=DATASET, site="T1_US_FNAL_MSS"),
                UpsertBlockReplica(
                    dataset=DATASET, block=BLOCK, site="T1_US_FNAL_MSS", is_custodial=True
                ),
            ]
        )
    )
    assert inventory.counts()["block_replicas"] == 1
    assert usage(inventory, "T1_US_FNAL_MSS", "PhysicsTape") == (10, 10)


def test_an_inventory_without_a_compiler_rejects_conditional_partitions() -> None:
    with pytest.raises(InvalidChangeSetError, match="no partition condition compiler"):
        Inventory().apply(ChangeSet.of([UpsertPartition(name="All", condition="owner == X")]))


def test_group_and_partition_names_may_contain_inner_spaces_as_in_cms() -> None:
    inventory = Inventory(partition_compiler=toy_compiler)
    inventory.apply(
        ChangeSet.of(
            [
                UpsertGroup(name="IB RelVal"),
                UpsertPartition(name="IB RelVal", condition="owner == IB RelVal"),
            ]
        )
    )
    assert "IB RelVal" in inventory.groups
    assert "IB RelVal" in inventory.partitions


@pytest.mark.parametrize("name", [" lead", "trail ", "tab\there", ""])
def test_group_names_with_outer_spaces_or_control_whitespace_are_rejected(name: str) -> None:
    with pytest.raises(InvalidChangeSetError, match="names are non-empty"):
        Inventory().apply(ChangeSet.of([UpsertGroup(name=name)]))


def test_a_complete_replica_holds_its_block_as_the_changeset_leaves_it(
    inventory: Inventory,
) -> None:
    changeset = ChangeSet.of(
        [
            UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT", group="AnalysisOps"),
            UpsertBlock(dataset=DATASET, name=BLOCK, size=3 * TB, num_files=300),
        ]
    )
    inventory.apply(changeset)
    replica = inventory.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    assert replica is not None
    assert replica.is_complete()
    once = describe(inventory)
    inventory.apply(changeset)
    assert describe(inventory) == once


def test_a_deleted_dataset_is_freed_even_when_the_image_is_frozen(inventory: Inventory) -> None:
    """The server freezes its image out of the cyclic collector: deletion must leave no cycle."""
    name = f"/Frozen{uuid.uuid4().hex}/Run2018A-v1/AOD"  # no other test makes these objects
    inventory.apply(
        ChangeSet.of(
            [
                UpsertDataset(name=name),
                UpsertBlock(dataset=name, name="b1", size=1, num_files=1),
                UpsertDatasetReplica(dataset=name, site="T2_US_MIT"),
                UpsertBlockReplica(dataset=name, block="b1", site="T2_US_MIT"),
            ]
        )
    )
    gc.collect()
    gc.freeze()
    try:
        inventory.apply(ChangeSet.of([DeleteDataset(name=name)]))
    finally:
        gc.unfreeze()  # objects still alive are listed again; nothing is collected here
    alive = [
        o
        for o in gc.get_objects()
        if (type(o) is Dataset and o.name == name) or (type(o) is Block and o.dataset.name == name)
    ]
    assert alive == []
