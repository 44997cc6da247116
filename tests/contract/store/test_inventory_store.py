"""The InventoryStore contract: commit, reload, rejection, idempotence, cascades, quotas."""

from __future__ import annotations

import pytest
from inventory_ops import (
    BLOCK,
    BLOCK2,
    DATASET,
    OTHER,
    PLAIN_BLOCK,
    TB,
    assert_same,
    base_ops,
    lfn,
    toy_compiler,
)

from dynamo.errors import InvalidChangeSetError, StoreConflictError
from dynamo.model import (
    ChangeSet,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    DeleteGroup,
    DeleteSite,
    Inventory,
    SetQuota,
    SiteStatus,
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
from dynamo.store import InventoryStore


@pytest.fixture
def loaded(store: InventoryStore, inventory: Inventory) -> Inventory:
    store.commit(base_ops(), inventory)
    return inventory


def test_an_empty_store_loads_an_empty_inventory_at_seq_zero(store: InventoryStore) -> None:
    inventory, seq = store.load()
    assert seq == 0
    assert inventory.num_objects == 1  # the null group
    assert store.last_seq() == 0


def test_commit_then_load_gives_an_equal_inventory(
    store: InventoryStore, loaded: Inventory
) -> None:
    assert loaded.num_block_replicas == 4
    assert_same(store, loaded)


def test_commits_get_increasing_seqs_and_last_seq_follows(
    store: InventoryStore, inventory: Inventory
) -> None:
    first = store.commit(base_ops(), inventory)
    second = store.commit(ChangeSet.of([UpsertGroup(name="IB")]), inventory)
    assert 0 < first < second == store.last_seq()
    assert store.load(partition_compiler=toy_compiler)[1] == second


def test_an_invalid_changeset_leaves_store_and_inventory_untouched(
    store: InventoryStore, loaded: Inventory
) -> None:
    before, seq = describe(loaded), store.last_seq()
    bad = ChangeSet.of(
        [
            UpsertDataset(name="/A/B/C"),
            UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T9_NOWHERE"),
        ]
    )
    with pytest.raises(InvalidChangeSetError, match="T9_NOWHERE"):
        store.commit(bad, loaded)
    assert describe(loaded) == before
    assert store.last_seq() == seq
    assert_same(store, loaded)


def test_a_failed_write_leaves_store_and_inventory_untouched(
    store: InventoryStore, loaded: Inventory
) -> None:
    before, seq = describe(loaded), store.last_seq()
    # Valid for the model (files are not resident), refused by the store: the LFN is taken.
    stolen = ChangeSet.of(
        [
            UpsertDataset(name="/New/Dataset/AOD"),
            UpsertBlock(dataset="/New/Dataset/AOD", name="b1", size=1000, num_files=1),
            UpsertFile(lfn=lfn(BLOCK, 0), dataset="/New/Dataset/AOD", block="b1", size=1000),
        ]
    )
    with pytest.raises(StoreConflictError, match="registered to another block"):
        store.commit(stolen, loaded)
    assert describe(loaded) == before
    assert store.last_seq() == seq
    assert_same(store, loaded)
    block = loaded.find_block(DATASET, BLOCK)
    assert block is not None
    assert [f.lfn for f in store.files_of(block)] == [lfn(BLOCK, i) for i in range(3)]


def test_committing_the_same_changeset_twice_is_harmless(
    store: InventoryStore, loaded: Inventory
) -> None:
    once = describe(loaded)
    store.commit(base_ops(), loaded)
    assert describe(loaded) == once
    assert_same(store, loaded)


def test_deleting_a_dataset_takes_its_blocks_files_and_replicas(
    store: InventoryStore, loaded: Inventory
) -> None:
    block = loaded.find_block(DATASET, BLOCK)
    assert block is not None
    store.commit(ChangeSet.of([DeleteDataset(name=DATASET)]), loaded)
    assert DATASET not in loaded.datasets
    assert loaded.num_block_replicas == 1
    assert store.files_of(block) == ()
    assert_same(store, loaded)


def test_deleting_a_block_takes_its_files_and_replicas(
    store: InventoryStore, loaded: Inventory
) -> None:
    block = loaded.find_block(DATASET, BLOCK2)
    assert block is not None
    assert len(store.files_of(block)) == 2
    store.commit(ChangeSet.of([DeleteBlock(dataset=DATASET, name=BLOCK2)]), loaded)
    assert store.files_of(block) == ()
    assert_same(store, loaded)


def test_deleting_a_site_takes_its_replicas_and_quotas(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(ChangeSet.of([DeleteSite(name="T2_US_MIT")]), loaded)
    assert_same(store, loaded)
    store.commit(ChangeSet.of([UpsertSite(name="T2_US_MIT")]), loaded)
    assert loaded.site_partition("T2_US_MIT", "AnalysisOps").quota == 0
    assert_same(store, loaded)


def test_deleting_replicas_removes_exactly_them(store: InventoryStore, loaded: Inventory) -> None:
    store.commit(
        ChangeSet.of(
            [
                DeleteBlockReplica(dataset=DATASET, block=BLOCK2, site="T2_US_MIT"),
                DeleteDatasetReplica(dataset=DATASET, site="T1_US_FNAL_MSS"),
            ]
        ),
        loaded,
    )
    assert loaded.num_block_replicas == 2
    assert loaded.num_dataset_replicas == 2
    assert_same(store, loaded)


def test_deleting_a_group_passes_its_replicas_to_the_null_group(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(ChangeSet.of([DeleteGroup(name="AnalysisOps")]), loaded)
    replica = loaded.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    assert replica is not None
    assert replica.group is loaded.null_group
    assert loaded.sites["T2_US_MIT"].dataset_replicas[loaded.datasets[DATASET]].group.name is None
    assert_same(store, loaded)


def test_a_group_deleted_and_recreated_in_one_changeset_owns_only_later_replicas(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(
        ChangeSet.of(
            [
                UpsertBlockReplica(
                    dataset=DATASET, block=BLOCK, site="T1_US_FNAL_MSS", group="DataOps"
                ),
                DeleteGroup(name="DataOps"),
                UpsertGroup(name="DataOps"),
                UpsertBlockReplica(
                    dataset=DATASET, block=BLOCK2, site="T2_US_MIT", group="DataOps"
                ),
            ]
        ),
        loaded,
    )
    tape = loaded.find_block_replica(DATASET, BLOCK, "T1_US_FNAL_MSS")
    assert tape is not None
    assert tape.group.name is None
    assert_same(store, loaded)


def test_the_null_group_and_its_partition_survive_reload(
    store: InventoryStore, loaded: Inventory
) -> None:
    replica = loaded.find_block_replica(OTHER, PLAIN_BLOCK, "T2_US_MIT")
    assert replica is not None
    assert replica.group is loaded.null_group
    assert loaded.site_partition("T2_US_MIT", "Unsubscribed").physical_bytes == 500
    assert_same(store, loaded)


def test_incomplete_block_replicas_keep_their_size_after_reload(
    store: InventoryStore, loaded: Inventory
) -> None:
    reloaded, _ = store.load(partition_compiler=toy_compiler)
    replica = reloaded.find_block_replica(DATASET, BLOCK2, "T2_US_MIT")
    assert replica is not None
    assert (replica.size, replica.num_files, replica.is_complete()) == (1000, 1, False)
    complete = reloaded.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    assert complete is not None
    assert complete.is_complete()


def test_a_complete_replica_keeps_its_size_when_its_block_grows(
    store: InventoryStore, loaded: Inventory
) -> None:
    grown = ChangeSet.of(
        [
            UpsertBlock(dataset=DATASET, name=BLOCK, size=4000, num_files=4),
            UpsertBlockReplica(dataset=DATASET, block=BLOCK2, site="T1_US_FNAL_MSS"),
            UpsertBlock(dataset=DATASET, name=BLOCK2, size=2500, num_files=3),
        ]
    )
    store.commit(grown, loaded)
    replica = loaded.find_block_replica(DATASET, BLOCK, "T2_US_MIT")
    assert replica is not None
    assert (replica.size, replica.is_complete()) == (3000, False)
    assert_same(store, loaded)


def test_quotas_and_partition_usage_survive_reload(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(
        ChangeSet.of(
            [
                SetQuota(site="T2_US_MIT", partition="AnalysisOps", quota=3 * TB),
                UpsertSite(name="T2_US_MIT", status=SiteStatus.WAITROOM),
            ]
        ),
        loaded,
    )
    reloaded, _ = store.load(partition_compiler=toy_compiler)
    usage = reloaded.site_partition("T2_US_MIT", "Physics")
    assert (usage.physical_bytes, usage.projected_bytes) == (4000, 5000)
    assert reloaded.site_partition("T2_US_MIT", "AnalysisOps").quota == 3 * TB
    assert reloaded.site_partition("T2_US_MIT", "Physics").effective_quota() == -1
    assert [p.name for p in reloaded.partitions] == [p.name for p in loaded.partitions]
    assert_same(store, loaded)


def test_partitions_can_be_redefined_and_keep_their_order(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(
        ChangeSet.of(
            [
                UpsertPartition(name="AnalysisOps", condition="owner == AnalysisOps"),
                UpsertPartition(name="Tape", condition="storage == MSS"),
            ]
        ),
        loaded,
    )
    assert_same(store, loaded)


def test_a_dataset_deleted_and_recreated_in_one_changeset_holds_only_the_new_state(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(
        ChangeSet.of(
            [
                DeleteDataset(name=DATASET),
                UpsertDataset(name=DATASET, is_open=False),
                UpsertBlock(dataset=DATASET, name=BLOCK2, size=10, num_files=1),
                UpsertFile(lfn=lfn(BLOCK, 0), dataset=DATASET, block=BLOCK2, size=10),
                UpsertDatasetReplica(dataset=DATASET, site="T2_US_MIT", group="DataOps"),
                UpsertBlockReplica(
                    dataset=DATASET, block=BLOCK2, site="T2_US_MIT", group="DataOps"
                ),
            ]
        ),
        loaded,
    )
    block = loaded.find_block(DATASET, BLOCK2)
    assert block is not None
    assert [f.lfn for f in store.files_of(block)] == [lfn(BLOCK, 0)]
    assert_same(store, loaded)


def test_site_and_dataset_attributes_survive_reload(
    store: InventoryStore, loaded: Inventory
) -> None:
    store.commit(
        ChangeSet.of(
            [
                UpsertSite(name="T3_US_Buffer", storage_type=StorageType.BUFFER, host="h"),
                UpsertDataset(name=OTHER, software_version=(9, 4, 0, ""), last_update=3),
            ]
        ),
        loaded,
    )
    assert_same(store, loaded)


def test_load_reports_progress_per_stage(store: InventoryStore, loaded: Inventory) -> None:
    calls: list[tuple[str, int, int | None]] = []
    store.load(partition_compiler=toy_compiler, progress=lambda *args: calls.append(args))
    assert calls
    stages = [stage for stage, _, _ in calls]
    assert all(done >= 0 and (total is None or done <= total) for _, done, total in calls)
    if "block_replicas" in stages:
        assert (("block_replicas", 4, 4)) in calls


def test_write_persists_without_applying_and_apply_completes_it(
    store: InventoryStore, inventory: Inventory
) -> None:
    before = describe(inventory)
    changeset = ChangeSet.of([UpsertSite(name="T2_XX_Written")])
    seq = store.write(changeset, inventory)
    assert describe(inventory) == before
    assert seq == store.last_seq()
    inventory.apply(changeset)
    reloaded, reloaded_seq = store.load(partition_compiler=toy_compiler)
    assert reloaded_seq == seq
    assert describe(reloaded) == describe(inventory)
