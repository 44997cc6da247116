"""Shared builders for model tests: a tiny partition compiler and a populated inventory."""

from __future__ import annotations

import pytest

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
    UpsertGroup,
    UpsertPartition,
    UpsertSite,
)

DATASET = "/ZeroBias/Run2018D-PromptReco-v2/AOD"
BLOCK = "b8bacdd2-b6c9-11e2-809b-003048f0e7dc"
BLOCK2 = "b8bad16a-b6c9-11e2-809b-003048f0e7dc"
TB = 10**12


def base_ops() -> ChangeSet:
    """Two groups, a disk and a tape site, CMS-like partitions and one dataset of two blocks."""
    return ChangeSet.of(
        [
            UpsertGroup(name="AnalysisOps"),
            UpsertGroup(name="DataOps"),
            UpsertSite(name="T2_US_MIT"),
            UpsertSite(name="T1_US_FNAL_MSS", storage_type=StorageType.MSS),
            UpsertPartition(
                name="AnalysisOps", condition="owner == AnalysisOps and storage == DISK"
            ),
            UpsertPartition(name="DataOpsDisk", condition="owner == DataOps and storage == DISK"),
            UpsertPartition(name="PhysicsTape", condition="storage == MSS"),
            UpsertPartition(
                name="Physics", subpartitions=("AnalysisOps", "DataOpsDisk", "PhysicsTape")
            ),
            SetQuota(site="T2_US_MIT", partition="AnalysisOps", quota=2 * TB),
            SetQuota(site="T2_US_MIT", partition="DataOpsDisk", quota=1 * TB),
            UpsertDataset(name=DATASET, last_update=1_530_000_000),
            UpsertBlock(dataset=DATASET, name=BLOCK, size=TB, num_files=100),
            UpsertBlock(dataset=DATASET, name=BLOCK2, size=TB // 2, num_files=40),
            UpsertDatasetReplica(dataset=DATASET, site="T2_US_MIT", group="AnalysisOps"),
            UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT", group="AnalysisOps"),
            UpsertBlockReplica(
                dataset=DATASET,
                block=BLOCK2,
                site="T2_US_MIT",
                group="DataOps",
                size=TB // 4,
                num_files=20,
            ),
        ]
    )


@pytest.fixture
def inventory() -> Inventory:
    inv = Inventory(partition_compiler=toy_compiler)
    inv.apply(base_ops())
    return inv
