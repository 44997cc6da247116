"""ChangeSets shared by the contract tests."""

from __future__ import annotations

from doubles import toy_compiler
from dynamo.model import (
    ChangeSet,
    Inventory,
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
    diff,
)
from dynamo.store import InventoryStore

DATASET = "/ZeroBias/Run2018D-PromptReco-v2/AOD"
OTHER = "/SingleMuon/Run2018D-PromptReco-v2/MINIAOD"
BLOCK = "b8bacdd2-b6c9-11e2-809b-003048f0e7dc"
BLOCK2 = "b8bad16a-b6c9-11e2-809b-003048f0e7dc"
PLAIN_BLOCK = "block-with-a-plain-name"
TB = 10**12


def lfn(block: str, index: int) -> str:
    return f"/store/data/Run2018D/ZeroBias/AOD/{block}/{index:06d}.root"


def base_ops() -> ChangeSet:
    """Two groups, a disk and a tape site, partitions with quotas, two datasets with files."""
    return ChangeSet.of(
        [
            UpsertGroup(name="AnalysisOps"),
            UpsertGroup(name="DataOps"),
            UpsertSite(name="T2_US_MIT", host="se.mit.edu", backend="root://se.mit.edu/"),
            UpsertSite(name="T1_US_FNAL_MSS", storage_type=StorageType.MSS),
            UpsertPartition(
                name="AnalysisOps", condition="owner == AnalysisOps and storage == DISK"
            ),
            UpsertPartition(name="DataOpsDisk", condition="owner == DataOps and storage == DISK"),
            UpsertPartition(name="PhysicsTape", condition="storage == MSS"),
            UpsertPartition(name="Unsubscribed", condition="owner == None and storage == DISK"),
            UpsertPartition(
                name="Physics", subpartitions=("AnalysisOps", "DataOpsDisk", "PhysicsTape")
            ),
            SetQuota(site="T2_US_MIT", partition="AnalysisOps", quota=2 * TB),
            SetQuota(site="T2_US_MIT", partition="DataOpsDisk", quota=-1),
            SetQuota(site="T1_US_FNAL_MSS", partition="PhysicsTape", quota=50 * TB),
            UpsertDataset(
                name=DATASET, last_update=1_530_000_000, software_version=(10, 2, 1, "patch2")
            ),
            UpsertBlock(dataset=DATASET, name=BLOCK, size=3000, num_files=3, last_update=7),
            UpsertBlock(dataset=DATASET, name=BLOCK2, size=2000, num_files=2, is_open=True),
            UpsertDataset(name=OTHER, is_open=False),
            UpsertBlock(dataset=OTHER, name=PLAIN_BLOCK, size=500, num_files=1),
            *(
                UpsertFile(
                    lfn=lfn(BLOCK, i), dataset=DATASET, block=BLOCK, size=1000, adler32="0a1b2c3d"
                )
                for i in (2, 0, 1)
            ),
            *(
                UpsertFile(lfn=lfn(BLOCK2, i), dataset=DATASET, block=BLOCK2, size=1000)
                for i in range(2)
            ),
            UpsertFile(lfn=lfn(PLAIN_BLOCK, 0), dataset=OTHER, block=PLAIN_BLOCK, size=500),
            UpsertDatasetReplica(dataset=DATASET, site="T2_US_MIT", group="AnalysisOps"),
            UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT", group="AnalysisOps"),
            UpsertBlockReplica(
                dataset=DATASET,
                block=BLOCK2,
                site="T2_US_MIT",
                group="DataOps",
                size=1000,
                num_files=1,
                last_update=1_530_000_100,
            ),
            UpsertDatasetReplica(dataset=DATASET, site="T1_US_FNAL_MSS", growing=True),
            UpsertBlockReplica(
                dataset=DATASET, block=BLOCK, site="T1_US_FNAL_MSS", is_custodial=True
            ),
            UpsertDatasetReplica(dataset=OTHER, site="T2_US_MIT", group=None),
            UpsertBlockReplica(dataset=OTHER, block=PLAIN_BLOCK, site="T2_US_MIT", group=None),
        ]
    )


def assert_same(store: InventoryStore, inventory: Inventory) -> None:
    """The store loads exactly ``inventory`` (describe-equal), at the store's last seq."""
    loaded, seq = store.load(partition_compiler=toy_compiler)
    differences = diff(loaded, inventory)
    assert not differences, differences
    assert describe(loaded) == describe(inventory)
    assert seq == store.last_seq(), (seq, store.last_seq())
