"""Random sequences of ChangeSets keep every inventory invariant (hypothesis state machine).

Every accepted ChangeSet is also committed through a SQLite store, and a reload from that store
must give an inventory equal to the one in memory.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from dynamo.errors import InvalidChangeSetError
from dynamo.model import (
    ChangeSet,
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
    UpsertGroup,
    UpsertPartition,
    UpsertSite,
    describe,
    violations,
)
from dynamo.store.sql import SqlInventoryStore

from .conftest import toy_compiler

DATASETS = ["/A/Run2018A-v1/AOD", "/B/Summer16-v2/MINIAODSIM", "/C/Era-v1/RAW"]
BLOCKS = ["b8bacdd2-b6c9-11e2-809b-003048f0e7dc", "block-2", "3"]
SITES = ["T2_US_MIT", "T1_US_FNAL_MSS", "T2_CH_CERN"]
GROUPS = ["AnalysisOps", "DataOps"]
OWNERS = st.sampled_from([None, *GROUPS, "Unknown"])
SIZES = st.integers(min_value=-1, max_value=10**13)

operations = st.one_of(
    st.builds(UpsertGroup, name=st.sampled_from(GROUPS)),
    st.builds(DeleteGroup, name=st.sampled_from(GROUPS)),
    st.builds(UpsertSite, name=st.sampled_from(SITES), storage_type=st.sampled_from(StorageType)),
    st.builds(DeleteSite, name=st.sampled_from(SITES)),
    st.builds(
        SetQuota,
        site=st.sampled_from(SITES),
        partition=st.sampled_from(["AnalysisOps", "Tape", "Physics"]),
        quota=st.integers(min_value=-1, max_value=10**15),
    ),
    st.builds(UpsertDataset, name=st.sampled_from(DATASETS), last_update=st.integers(0, 2**31)),
    st.builds(DeleteDataset, name=st.sampled_from(DATASETS)),
    st.builds(
        UpsertBlock,
        dataset=st.sampled_from(DATASETS),
        name=st.sampled_from(BLOCKS),
        size=SIZES,
        num_files=st.integers(0, 1000),
    ),
    st.builds(DeleteBlock, dataset=st.sampled_from(DATASETS), name=st.sampled_from(BLOCKS)),
    st.builds(
        UpsertDatasetReplica,
        dataset=st.sampled_from(DATASETS),
        site=st.sampled_from(SITES),
        group=OWNERS,
        growing=st.booleans(),
    ),
    st.builds(DeleteDatasetReplica, dataset=st.sampled_from(DATASETS), site=st.sampled_from(SITES)),
    st.builds(
        UpsertBlockReplica,
        dataset=st.sampled_from(DATASETS),
        block=st.sampled_from(BLOCKS),
        site=st.sampled_from(SITES),
        group=OWNERS,
        size=st.one_of(st.none(), SIZES),
        is_custodial=st.booleans(),
        num_files=st.one_of(st.none(), st.integers(0, 1000)),
    ),
    st.builds(
        DeleteBlockReplica,
        dataset=st.sampled_from(DATASETS),
        block=st.sampled_from(BLOCKS),
        site=st.sampled_from(SITES),
    ),
)

PARTITIONS = ChangeSet.of(
    [
        UpsertPartition(name="AnalysisOps", condition="owner == AnalysisOps and storage == DISK"),
        UpsertPartition(name="Tape", condition="storage == MSS"),
        UpsertPartition(name="Unsubscribed", condition="owner == None"),
        UpsertPartition(name="Physics", subpartitions=("AnalysisOps", "Tape")),
    ]
)


def world(storage: list[StorageType]) -> ChangeSet:
    """Groups, sites, datasets, blocks and dataset replicas: something for random ops to act on."""
    ops: list[Operation] = [UpsertGroup(name=name) for name in GROUPS]
    ops += [UpsertSite(name=n, storage_type=t) for n, t in zip(SITES, storage, strict=True)]
    for dataset in DATASETS:
        ops.append(UpsertDataset(name=dataset))
        ops += [UpsertBlock(dataset=dataset, name=b, size=10**9, num_files=10) for b in BLOCKS]
        ops += [UpsertDatasetReplica(dataset=dataset, site=site, group="DataOps") for site in SITES]
    return ChangeSet.of(ops)


class InventoryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.inventory = Inventory(partition_compiler=toy_compiler)
        self.inventory.apply(PARTITIONS)
        self.accepted: list[ChangeSet] = [PARTITIONS]
        self.rejected = 0
        self.directory = Path(tempfile.mkdtemp(prefix="dynamo-machine-"))
        self.store = SqlInventoryStore.open(f"sqlite:///{self.directory}/db.sqlite", upgrade=True)
        self.stored = Inventory(partition_compiler=toy_compiler)
        self.store.commit(PARTITIONS, self.stored)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    @initialize(storage=st.lists(st.sampled_from(StorageType), min_size=3, max_size=3))
    def populate(self, storage: list[StorageType]) -> None:
        self.apply_a_changeset(list(world(storage).ops))

    @rule(ops=st.lists(operations, min_size=1, max_size=6))
    def apply_a_changeset(self, ops: list[Operation]) -> None:
        changeset = ChangeSet.of(ops)
        before = describe(self.inventory)
        try:
            self.inventory.apply(changeset)
        except InvalidChangeSetError:
            self.rejected += 1
            assert describe(self.inventory) == before, "a rejected ChangeSet changed the inventory"
            return
        self.accepted.append(changeset)
        self.store.commit(changeset, self.stored)

    @precondition(lambda self: len(self.accepted) > 1)
    @rule()
    def reapply_the_last_accepted_changeset(self) -> None:
        """Applying a ChangeSet again changes nothing.

        A ChangeSet that deletes the parent of something it upserted (a block, then its
        dataset) cannot be applied again: the second time it is rejected, still harmlessly.
        """
        last = self.accepted[-1]
        before = describe(self.inventory)
        try:
            self.inventory.apply(last)
        except InvalidChangeSetError:
            assert any(op.kind.startswith("delete_") for op in last.ops)
        assert describe(self.inventory) == before, "applying a ChangeSet twice changed the state"

    @rule()
    def replay_from_scratch_gives_the_same_inventory(self) -> None:
        replayed = Inventory(partition_compiler=toy_compiler)
        for changeset in self.accepted:
            replayed.apply(ChangeSet.from_msgpack(changeset.to_msgpack()))
        assert describe(replayed) == describe(self.inventory)

    @rule()
    def a_store_round_trip_gives_an_equal_inventory(self) -> None:
        reloaded, seq = self.store.load(partition_compiler=toy_compiler)
        assert seq == len(self.accepted)
        assert describe(reloaded) == describe(self.inventory)
        assert violations(reloaded) == []

    @invariant()
    def every_structural_invariant_holds(self) -> None:
        assert violations(self.inventory) == []


InventoryMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_inventory_invariants_hold_under_random_changesets = InventoryMachine.TestCase


def test_a_block_deleted_with_its_dataset_is_gone_when_the_dataset_is_recreated() -> None:
    """Found by the state machine above: validation let the recreated dataset's old blocks
    count as present, and apply then failed half-way."""
    inventory = Inventory()
    block = "b8bacdd2-b6c9-11e2-809b-003048f0e7dc"
    inventory.apply(
        ChangeSet.of(
            [
                UpsertSite(name="T2_US_MIT"),
                UpsertDataset(name="/A/Run2018A-v1/AOD"),
                UpsertBlock(dataset="/A/Run2018A-v1/AOD", name=block, size=1, num_files=1),
                UpsertDatasetReplica(dataset="/A/Run2018A-v1/AOD", site="T2_US_MIT"),
            ]
        )
    )
    ops = [
        DeleteDataset(name="/A/Run2018A-v1/AOD"),
        UpsertDataset(name="/A/Run2018A-v1/AOD"),
        UpsertBlockReplica(dataset="/A/Run2018A-v1/AOD", block=block, site="T2_US_MIT"),
    ]
    with pytest.raises(InvalidChangeSetError, match="block"):
        inventory.apply(ChangeSet.of(ops))
    assert inventory.datasets["/A/Run2018A-v1/AOD"].blocks  # nothing was applied
