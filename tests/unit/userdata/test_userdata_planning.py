"""The pure planners: per-site blocks of a registration batch, consolidation steps, purge."""

from __future__ import annotations

import pytest

from doubles import toy_compiler
from dynamo.model import (
    ChangeSet,
    DeleteBlockReplica,
    DeleteDataset,
    DeleteDatasetReplica,
    Inventory,
    Operation,
    UpsertBlockReplica,
    UpsertDatasetReplica,
    UpsertSite,
)
from dynamo.userdata import QuotaExceededError, UserDataOptions, UserDataStateError
from dynamo.userdata.planning import (
    Registration,
    RegistrationBatch,
    completion_ops,
    consolidation_step,
    purge_ops,
    quota_ops,
)

DS = "/SingleMuon/alice-skim_v1/USER"
A, B = "T2_US_MIT", "T2_DE_DESY"
OPTIONS = UserDataOptions(max_files_per_block=2, partition_condition="owner == userdata")
NOW = 1_800_000_000


def _inventory(quota: int = 10**6) -> Inventory:
    inventory = Inventory(partition_compiler=toy_compiler)
    inventory.apply(ChangeSet.of([UpsertSite(name=A), UpsertSite(name=B)]))
    for site in (A, B):
        inventory.apply(ChangeSet(tuple(quota_ops(inventory, site, quota, OPTIONS))))
    return inventory


def _file(index: int, site: str, size: int = 100) -> Registration:
    lfn = f"/store/user/alice/skim_v1/f{index}.root"
    return Registration(dataset=DS, lfn=lfn, site=site, size=size, adler32="00000001")


def _register(inventory: Inventory, *files: Registration) -> list[str]:
    batch = RegistrationBatch(inventory, OPTIONS, NOW)
    blocks = [batch.add(f).block for f in files]
    inventory.apply(ChangeSet(tuple(batch.ops)))
    return blocks


def test_files_fill_the_open_block_of_their_site_and_a_full_one_is_closed() -> None:
    inventory = _inventory()
    assert _register(inventory, _file(0, A), _file(1, B), _file(2, A), _file(3, A)) == [
        f"{A}-0001",
        f"{B}-0001",
        f"{A}-0001",
        f"{A}-0002",
    ]
    dataset = inventory.datasets[DS]
    assert {b.name: (b.num_files, b.is_open) for b in dataset.blocks.values()} == {
        f"{A}-0001": (2, False),
        f"{A}-0002": (1, True),
        f"{B}-0001": (1, True),
    }
    assert _register(inventory, _file(4, A)) == [f"{A}-0002"]  # later batches continue it
    for block in dataset.blocks.values():
        assert [r.site.name for r in block.replicas] == [block.name.rsplit("-", 1)[0]]
        assert all(r.is_complete() for r in block.replicas)


def test_a_batch_counts_its_own_bytes_against_the_quota() -> None:
    inventory = _inventory(quota=250)
    batch = RegistrationBatch(inventory, OPTIONS, NOW)
    batch.add(_file(0, A))
    batch.add(_file(1, A))
    before = list(batch.ops)
    with pytest.raises(QuotaExceededError):
        batch.add(_file(2, A))
    assert batch.ops == before  # a refused file leaves the batch as it was
    batch.add(_file(2, B))


def test_a_complete_dataset_takes_no_more_files() -> None:
    inventory = _inventory()
    _register(inventory, _file(0, A))
    inventory.apply(ChangeSet(tuple(completion_ops(inventory.datasets[DS], NOW))))
    assert not any(b.is_open for b in inventory.datasets[DS].blocks.values())
    with pytest.raises(UserDataStateError):
        RegistrationBatch(inventory, OPTIONS, NOW).add(_file(1, A))


def _apply(inventory: Inventory, ops: list[Operation]) -> None:
    inventory.apply(ChangeSet(tuple(ops)))


def test_consolidation_copies_to_the_target_then_deletes_elsewhere() -> None:
    inventory = _inventory()
    _register(inventory, _file(0, A), _file(1, B))
    dataset = inventory.datasets[DS]
    step = consolidation_step(dataset, A, OPTIONS, NOW)
    assert step.transfers == [f"{B}-0001"]
    assert (step.deletions, step.is_done) == ([], False)
    assert [type(op) for op in step.ops] == [UpsertBlockReplica]  # the empty replica at A
    _apply(inventory, step.ops)
    # the copy arrived but the dataset is still open: the block is open, nothing is deleted
    _apply(inventory, [UpsertBlockReplica(dataset=DS, block=f"{B}-0001", site=A, group="userdata")])
    step = consolidation_step(dataset, A, OPTIONS, NOW)
    assert (step.transfers, step.deletions, step.is_done) == ([], [], False)
    _apply(inventory, completion_ops(dataset, NOW))
    step = consolidation_step(dataset, A, OPTIONS, NOW)
    assert (step.deletions, step.is_done) == ([(f"{B}-0001", B)], False)
    _apply(
        inventory,
        [UpsertBlockReplica(dataset=DS, block=f"{B}-0001", site=B, size=0, num_files=0)],
    )
    assert purge_ops(dataset) == ()  # files remain at A
    _apply(
        inventory,
        [
            DeleteBlockReplica(dataset=DS, block=f"{B}-0001", site=B),
            DeleteDatasetReplica(dataset=DS, site=B),
        ],
    )
    assert consolidation_step(dataset, A, OPTIONS, NOW).is_done


def test_a_new_target_gets_a_dataset_replica_owned_by_user_data() -> None:
    inventory = _inventory()
    _register(inventory, _file(0, A))
    step = consolidation_step(inventory.datasets[DS], B, OPTIONS, NOW)
    assert step.ops[0] == UpsertDatasetReplica(dataset=DS, site=B, group="userdata")


def test_a_dataset_is_purged_once_no_replica_holds_a_file() -> None:
    inventory = _inventory()
    _register(inventory, _file(0, A))
    dataset = inventory.datasets[DS]
    assert purge_ops(dataset) == ()
    _apply(
        inventory, [UpsertBlockReplica(dataset=DS, block=f"{A}-0001", site=A, size=0, num_files=0)]
    )
    assert purge_ops(dataset) == (DeleteDataset(name=DS),)
