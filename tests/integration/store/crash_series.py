"""A deterministic series of large ChangeSets for the crash test (changeset k is a pure
function of k, and is valid once changesets 0..k-1 have been applied)."""

from __future__ import annotations

import random

from dynamo.model import (
    ChangeSet,
    DeleteBlock,
    DeleteBlockReplica,
    DeleteDataset,
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
)

SEED = 20_180_926
BLOCKS = 20
FILES_PER_BLOCK = 150
SITES = ("T1_US_FNAL_MSS", "T2_US_MIT", "T2_CH_CERN", "T2_DE_DESY", "T3_US_Brown")
GROUPS = ("AnalysisOps", "DataOps", "IB_RelVal")


def dataset_name(k: int) -> str:
    return f"/Crash{k:05d}/Run2018-v1/AOD"


def _setup() -> list[Operation]:
    ops: list[Operation] = [UpsertGroup(name=g) for g in GROUPS]
    ops += [
        UpsertSite(name=s, storage_type=StorageType.MSS if "MSS" in s else StorageType.DISK)
        for s in SITES
    ]
    ops += [
        UpsertPartition(name="AnalysisOps", condition="owner == AnalysisOps"),
        UpsertPartition(name="DataOps", condition="owner == DataOps"),
        UpsertPartition(name="Unsubscribed", condition="owner == None"),
        UpsertPartition(name="Tape", condition="storage == MSS"),
        UpsertPartition(name="Physics", subpartitions=("AnalysisOps", "DataOps")),
    ]
    ops += [SetQuota(site=s, partition="AnalysisOps", quota=10**15) for s in SITES]
    return ops


def _new_dataset(k: int, rng: random.Random) -> list[Operation]:
    name = dataset_name(k)
    ops: list[Operation] = [UpsertDataset(name=name, last_update=1_500_000_000 + k)]
    sites = rng.sample(SITES, 2)
    for site in sites:
        group = rng.choice((*GROUPS, None))
        ops.append(UpsertDatasetReplica(dataset=name, site=site, group=group))
    for b in range(BLOCKS):
        block = f"{k:05d}-{b:03d}"
        sizes = [rng.randrange(1, 4 * 10**9) for _ in range(FILES_PER_BLOCK)]
        ops.append(UpsertBlock(dataset=name, name=block, size=sum(sizes), num_files=len(sizes)))
        ops += [
            UpsertFile(
                lfn=f"/store/crash/{k:05d}/{block}/{i:04d}.root",
                dataset=name,
                block=block,
                size=size,
                adler32=f"{rng.getrandbits(32):08x}",
            )
            for i, size in enumerate(sizes)
        ]
        for site in sites:
            partial = rng.random() < 0.2
            ops.append(
                UpsertBlockReplica(
                    dataset=name,
                    block=block,
                    site=site,
                    group=rng.choice(GROUPS),
                    size=sizes[0] if partial else None,
                    num_files=1 if partial else None,
                    last_update=1_500_000_000 + k,
                )
            )
    return ops


def _changes_to_earlier(k: int, rng: random.Random) -> list[Operation]:
    ops: list[Operation] = []
    if k >= 3:
        ops.append(DeleteBlock(dataset=dataset_name(k - 2), name=f"{k - 2:05d}-{k % BLOCKS:03d}"))
    if k >= 2:
        previous = dataset_name(k - 1)
        ops.append(
            UpsertBlock(
                dataset=previous, name=f"{k - 1:05d}-000", size=rng.randrange(10**9), num_files=7
            )
        )
        for site in SITES:
            ops.append(DeleteBlockReplica(dataset=previous, block=f"{k - 1:05d}-001", site=site))
    if k >= 4 and k % 4 == 0:
        ops.append(DeleteDataset(name=dataset_name(k - 3)))
    return ops


def changeset(k: int) -> ChangeSet:
    """The k-th ChangeSet of the series (k = 0 sets up groups, sites and partitions)."""
    if k == 0:
        return ChangeSet.of(_setup())
    rng = random.Random(SEED * 100_003 + k)
    return ChangeSet.of(_changes_to_earlier(k, rng) + _new_dataset(k, rng))
