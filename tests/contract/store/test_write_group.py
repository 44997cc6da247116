"""The group commit of every store: several ChangeSets in one transaction, one log entry each,
each validated after the ones before it; an invalid one is left out alone; a failure of the
transaction writes nothing of the group."""

from __future__ import annotations

from typing import Any

import pytest
from inventory_ops import BLOCK, DATASET, assert_same, base_ops, lfn

from dynamo.errors import InvalidChangeSetError, StoreConflictError
from dynamo.model import (
    ChangeSet,
    DeleteDataset,
    DeleteSite,
    Inventory,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertSite,
    describe,
)
from dynamo.store import InventoryStore
from dynamo.store.ports import GroupEntry

NEW = "/Group/Commit-v1/RAW"


@pytest.fixture
def loaded(store: InventoryStore, inventory: Inventory) -> Inventory:
    store.commit(base_ops(), inventory)
    return inventory


def _apply_accepted(inventory: Inventory, entries: list[GroupEntry], outcomes: list[Any]) -> None:
    for entry, outcome in zip(entries, outcomes, strict=True):
        if isinstance(outcome, int) and entry.changeset:
            inventory.apply(entry.changeset, validated=True)


def test_a_group_writes_one_log_entry_per_changeset_in_order_and_leaves_invalid_ones_out(
    store: InventoryStore, loaded: Inventory
) -> None:
    start = store.last_seq()
    seen: list[tuple[str, int | None]] = []

    def note(name: str) -> Any:
        return lambda _connection, seq: seen.append((name, seq))

    entries = [
        GroupEntry(ChangeSet.of([UpsertSite(name="T2_CH_CERN")]), note("site")),
        # uses the site the member before it creates: valid after it
        GroupEntry(
            ChangeSet.of(
                [UpsertDataset(name=NEW), UpsertDatasetReplica(dataset=NEW, site="T2_CH_CERN")]
            ),
            note("dataset"),
        ),
        # invalid: no such site, neither before nor in the group
        GroupEntry(
            ChangeSet.of([UpsertDatasetReplica(dataset=NEW, site="T9_NOWHERE")]), note("bad")
        ),
        GroupEntry(ChangeSet(), note("empty")),
        GroupEntry(ChangeSet.of([DeleteDataset(name=NEW)])),
        # invalid only because the member before it deleted the dataset
        GroupEntry(ChangeSet.of([UpsertDatasetReplica(dataset=NEW, site="T2_CH_CERN")])),
        GroupEntry(ChangeSet.of([UpsertDataset(name=NEW, is_open=False)])),
    ]
    outcomes = store.write_group(entries, loaded)
    rejected = [n for n, o in enumerate(outcomes) if isinstance(o, InvalidChangeSetError)]
    assert rejected == [2, 5]
    assert "T9_NOWHERE" in str(outcomes[2])
    seqs = [start + n for n in (1, 2)]
    assert outcomes[:2] == seqs
    assert outcomes[3] == seqs[1]  # the empty one: the seq before it
    assert (outcomes[4], outcomes[6]) == (start + 3, start + 4)
    assert seen == [("site", seqs[0]), ("dataset", seqs[1]), ("empty", None)]
    logged = list(store.read_log(start))
    assert [seq for seq, _ in logged] == [start + n for n in range(1, 5)]
    assert [cs for _, cs in logged] == [entries[n].changeset for n in (0, 1, 4, 6)]
    _apply_accepted(loaded, entries, outcomes)
    assert store.last_seq() == start + 4
    assert_same(store, loaded)


def test_a_group_that_fails_writes_nothing_of_any_member(
    store: InventoryStore, loaded: Inventory
) -> None:
    before, start = describe(loaded), store.last_seq()
    entries = [
        GroupEntry(ChangeSet.of([UpsertSite(name="T2_CH_CERN")])),
        # valid for the model, refused by the store: the LFN belongs to another block
        GroupEntry(
            ChangeSet.of(
                [
                    UpsertDataset(name=NEW),
                    UpsertBlock(dataset=NEW, name="b1", size=1000, num_files=1),
                    UpsertFile(lfn=lfn(BLOCK, 0), dataset=NEW, block="b1", size=1000),
                ]
            )
        ),
    ]
    with pytest.raises(StoreConflictError, match="registered to another block"):
        store.write_group(entries, loaded)
    assert store.last_seq() == start
    assert describe(loaded) == before
    assert_same(store, loaded)


def test_a_side_write_that_raises_fails_the_whole_group(
    store: InventoryStore, loaded: Inventory
) -> None:
    start = store.last_seq()

    def refuse(_connection: object, _seq: int | None) -> None:
        raise RuntimeError("refused")

    entries = [
        GroupEntry(ChangeSet.of([UpsertSite(name="T2_CH_CERN")])),
        GroupEntry(ChangeSet.of([DeleteSite(name="T2_CH_CERN")]), refuse),
    ]
    with pytest.raises(RuntimeError, match="refused"):
        store.write_group(entries, loaded)
    assert store.last_seq() == start
    assert_same(store, loaded)


def test_the_net_effect_of_a_group_equals_its_members_one_by_one(
    store: InventoryStore, loaded: Inventory
) -> None:
    """Members that rewrite the same rows: the last state wins, replicas resize correctly."""
    entries = [
        GroupEntry(
            ChangeSet.of([UpsertBlock(dataset=DATASET, name=BLOCK, size=4000, num_files=4)])
        ),
        GroupEntry(
            ChangeSet.of(
                [
                    UpsertBlockReplica(
                        dataset=DATASET, block=BLOCK, site="T2_US_MIT", size=10, num_files=1
                    )
                ]
            )
        ),
        GroupEntry(
            ChangeSet.of([UpsertBlock(dataset=DATASET, name=BLOCK, size=5000, num_files=5)])
        ),
        GroupEntry(
            ChangeSet.of([UpsertBlockReplica(dataset=DATASET, block=BLOCK, site="T2_US_MIT")])
        ),
        GroupEntry(
            ChangeSet.of([UpsertBlock(dataset=DATASET, name=BLOCK, size=6000, num_files=6)])
        ),
    ]
    start = store.last_seq()
    outcomes = store.write_group(entries, loaded)
    assert all(isinstance(o, int) for o in outcomes)
    # one multi-row insert of the log rows, their seqs in the entries' order
    assert [(seq, cs) for seq, cs in store.read_log(start)] == [
        (seq, e.changeset) for seq, e in zip(outcomes, entries, strict=True)
    ]
    assert outcomes == sorted(outcomes)
    _apply_accepted(loaded, entries, outcomes)
    assert_same(store, loaded)
