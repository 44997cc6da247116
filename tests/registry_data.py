"""A small inventory for the registry's tests: four sites, three datasets, four blocks."""

from __future__ import annotations

from dynamo.model import (
    ChangeSet,
    Inventory,
    StorageType,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertGroup,
    UpsertSite,
)

ZB_D = "/ZeroBias/Run2018D-v1/AOD"
ZB_C = "/ZeroBias/Run2018C-v1/AOD"
MU_D = "/SingleMuon/Run2018D-v1/MINIAOD"
B1 = "b8bacdd2-b6c9-11e2-809b-003048f0e7dc"
B2 = "b8bad16a-b6c9-11e2-809b-003048f0e7dc"
B3 = "c0ffee00-b6c9-11e2-809b-003048f0e7dc"
B4 = "block-4"
SITES = ("T2_US_MIT", "T2_US_Purdue", "T2_CH_CERN", "T1_US_FNAL_MSS")
DN = "/DC=ch/DC=cern/OU=Users/CN=alice"
OTHER_DN = "/DC=ch/DC=cern/OU=Users/CN=bob"


def registry_ops() -> ChangeSet:
    """ZB_D (B1, B2) at MIT and CERN, ZB_C (B3) at Purdue, MU_D (B4) at MIT."""
    replicas = [
        (ZB_D, B1, "T2_US_MIT", "AnalysisOps"),
        (ZB_D, B2, "T2_US_MIT", "DataOps"),
        (ZB_D, B1, "T2_CH_CERN", "AnalysisOps"),
        (ZB_C, B3, "T2_US_Purdue", "AnalysisOps"),
        (MU_D, B4, "T2_US_MIT", "DataOps"),
    ]
    ops: list[object] = [UpsertGroup(name="AnalysisOps"), UpsertGroup(name="DataOps")]
    ops += [UpsertSite(name=name) for name in SITES[:3]]
    ops.append(UpsertSite(name=SITES[3], storage_type=StorageType.MSS))
    for dataset, blocks in ((ZB_D, (B1, B2)), (ZB_C, (B3,)), (MU_D, (B4,))):
        ops.append(UpsertDataset(name=dataset, last_update=1_530_000_000))
        ops += [UpsertBlock(dataset=dataset, name=b, size=10**9, num_files=10) for b in blocks]
    for dataset, site in sorted({(d, s) for d, _, s, _ in replicas}):
        ops.append(UpsertDatasetReplica(dataset=dataset, site=site, group="AnalysisOps"))
    ops += [UpsertBlockReplica(dataset=d, block=b, site=s, group=g) for d, b, s, g in replicas]
    return ChangeSet.of(ops)  # type: ignore[arg-type]


def registry_inventory() -> Inventory:
    inventory = Inventory()
    inventory.apply(registry_ops())
    return inventory
