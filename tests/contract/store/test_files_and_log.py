"""Files read on demand through the store (with its cache), and the inventory log."""

from __future__ import annotations

import pytest
from inventory_ops import BLOCK, BLOCK2, DATASET, assert_same, base_ops, lfn

from databases import SQL_BACKENDS
from dynamo.model import (
    Block,
    ChangeSet,
    DatasetStatus,
    DataType,
    DeleteFile,
    Inventory,
    Operation,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.store import InventoryStore, SqlInventoryStore


@pytest.fixture
def loaded(store: InventoryStore, inventory: Inventory) -> Inventory:
    store.commit(base_ops(), inventory)
    return inventory


def block_of(inventory: Inventory, name: str = BLOCK) -> Block:
    block = inventory.find_block(DATASET, name)
    assert block is not None
    return block


def test_files_of_lists_the_block_files_ordered_by_lfn(
    store: InventoryStore, loaded: Inventory
) -> None:
    files = store.files_of(block_of(loaded))
    assert [f.lfn for f in files] == [lfn(BLOCK, i) for i in range(3)]
    assert {(f.dataset, f.block, f.size, f.adler32) for f in files} == {
        (DATASET, BLOCK, 1000, "0a1b2c3d")
    }


def test_files_of_a_block_without_files_is_empty(store: InventoryStore, loaded: Inventory) -> None:
    store.commit(ChangeSet.of([UpsertBlock(dataset=DATASET, name="empty")]), loaded)
    assert list(store.files_of(block_of(loaded, "empty"))) == []


def test_a_commit_invalidates_the_cached_files_of_the_blocks_it_touches(
    store: InventoryStore, loaded: Inventory
) -> None:
    block, other = block_of(loaded), block_of(loaded, BLOCK2)
    assert len(store.files_of(block)) == 3
    assert len(store.files_of(other)) == 2
    store.commit(
        ChangeSet.of(
            [
                DeleteFile(lfn=lfn(BLOCK, 1)),
                UpsertFile(lfn=lfn(BLOCK, 9), dataset=DATASET, block=BLOCK, size=5),
                UpsertFile(lfn=lfn(BLOCK, 0), dataset=DATASET, block=BLOCK, size=7),
            ]
        ),
        loaded,
    )
    files = store.files_of(block)
    assert [(f.lfn, f.size) for f in files] == [
        (lfn(BLOCK, 0), 7),
        (lfn(BLOCK, 2), 1000),
        (lfn(BLOCK, 9), 5),
    ]
    assert len(store.files_of(other)) == 2


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_the_file_cache_is_bounded_and_serves_repeated_reads(
    store: InventoryStore, loaded: Inventory
) -> None:
    assert isinstance(store, SqlInventoryStore)
    store.file_cache.capacity = 1
    first = store.files_of(block_of(loaded))
    assert store.files_of(block_of(loaded)) is first
    store.files_of(block_of(loaded, BLOCK2))
    assert len(store.file_cache) == 1
    assert store.file_cache.hits == 1


def test_read_log_yields_every_committed_changeset_in_order(
    store: InventoryStore, loaded: Inventory
) -> None:
    later = [ChangeSet.of([UpsertGroup(name=f"G{i}")]) for i in range(5)]
    seqs = [store.commit(changeset, loaded) for changeset in later]
    entries = list(store.read_log())
    assert [cs for _, cs in entries] == [base_ops(), *later]
    assert [seq for seq, _ in entries][1:] == seqs
    assert list(store.read_log(after_seq=seqs[1])) == list(zip(seqs[2:], later[2:], strict=True))
    assert list(store.read_log(after_seq=seqs[0], limit=2)) == list(
        zip(seqs[1:3], later[1:3], strict=True)
    )
    assert list(store.read_log(after_seq=seqs[-1])) == []


def test_read_log_pages_through_long_logs(store: InventoryStore, inventory: Inventory) -> None:
    changesets = [ChangeSet.of([UpsertGroup(name=f"G{i}")]) for i in range(230)]
    for changeset in changesets:
        store.commit(changeset, inventory)
    assert [cs for _, cs in store.read_log()] == changesets
    assert len(list(store.read_log(limit=150))) == 150


def test_a_changeset_with_50k_file_upserts_commits_in_one_go(
    store: InventoryStore, inventory: Inventory
) -> None:
    dataset = "/Big/Dataset-v1/AOD"
    ops: list[UpsertDataset | UpsertBlock | UpsertFile] = [UpsertDataset(name=dataset)]
    for b in range(50):
        block = f"block{b:03d}"
        ops.append(UpsertBlock(dataset=dataset, name=block, size=1000 * 10, num_files=1000))
        ops.extend(
            UpsertFile(
                lfn=f"/store/big/{block}/{i:05d}.root", dataset=dataset, block=block, size=10
            )
            for i in range(1000)
        )
    store.commit(ChangeSet.of(ops), inventory)
    block = inventory.find_block(dataset, "block049")
    assert block is not None
    files = store.files_of(block)
    assert len(files) == 1000
    assert files[0].lfn == "/store/big/block049/00000.root"
    assert_same(store, inventory)


def _many_replicas(round_: int) -> ChangeSet:
    """300 datasets of one block with replicas at two sites: enough rows for the store's bulk
    (COPY) path on PostgreSQL. ``round_`` 1 changes every dataset, block and replica attribute
    of round 0."""
    ops: list[Operation] = [
        UpsertGroup(name="G1"),
        UpsertGroup(name="G2"),
        UpsertSite(name="T2_A"),
        UpsertSite(name="T2_B"),
    ]
    for d in range(300):
        name = f"/Many{d:03d}/Replicas-v1/AOD"
        ops.append(
            UpsertDataset(
                name=name,
                status=(DatasetStatus.VALID, DatasetStatus.PRODUCTION)[(d + round_) % 2],
                data_type=(DataType.MC, DataType.DATA)[(d + round_) % 2],
                software_version=(10, 6, round_, "patch1" if d % 2 else "") if d % 3 else None,
                last_update=100 + round_,
                is_open=(d + round_) % 2 == 0,
            )
        )
        block = f"b{d}\\x" if d % 7 == 0 else "b"
        ops.append(
            UpsertBlock(
                dataset=name,
                name=block,
                size=30 + round_,
                num_files=3 + round_,
                is_open=(d + round_) % 2 == 1,
                last_update=200 + round_,
            )
        )
        for site in ("T2_A", "T2_B"):
            group = (None, "G1", "G2")[(d + round_) % 3]
            ops.append(
                UpsertDatasetReplica(
                    dataset=name, site=site, group=group, growing=(d + round_) % 2 == 0
                )
            )
            partial = (d + round_) % 4 == 0
            ops.append(
                UpsertBlockReplica(
                    dataset=name,
                    block=block,
                    site=site,
                    group=group if d % 5 else None,
                    is_custodial=(d + round_) % 3 == 1,
                    size=10 * round_ if partial else None,
                    num_files=round_ if partial else None,
                    last_update=1000 + round_,
                )
            )
    return ChangeSet.of(ops)


def test_many_datasets_blocks_and_replicas_are_upserted_and_updated_in_place(
    store: InventoryStore, inventory: Inventory
) -> None:
    store.commit(_many_replicas(0), inventory)
    assert_same(store, inventory)
    store.commit(_many_replicas(1), inventory)
    assert inventory.num_block_replicas == 600
    assert_same(store, inventory)


def test_many_files_with_characters_copy_escapes_keep_their_names(
    store: InventoryStore, inventory: Inventory
) -> None:
    dataset = "/Odd/Names-v1/AOD"
    names = [
        f"/store/odd/{i:04d}\\x.root" if i % 2 else f"/store/odd/{i:04d}.root" for i in range(3000)
    ]
    ops: list[Operation] = [
        UpsertDataset(name=dataset),
        UpsertBlock(dataset=dataset, name="b", size=3000, num_files=3000),
    ]
    ops += [
        UpsertFile(lfn=n, dataset=dataset, block="b", size=1, adler32="0a0b0c0d") for n in names
    ]
    store.commit(ChangeSet.of(ops), inventory)
    block = inventory.find_block(dataset, "b")
    assert block is not None
    assert [f.lfn for f in store.files_of(block)] == sorted(names)
    assert_same(store, inventory)
