"""Group commit through the InventoryService on SQLite, PostgreSQL and MariaDB: many concurrent
writes share transactions; every valid one is logged exactly once, in order, and answered with
its own seq; an invalid one, a conflicting one and one whose side write raises fail alone; a
grouped plan never computes from a state a member before it changed; the image equals the
reloaded database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from dynamo.errors import InvalidChangeSetError, StoreConflictError
from dynamo.model import (
    ChangeSet,
    Inventory,
    Operation,
    UpsertBlock,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
    describe,
)
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore, migrate
from dynamo.store.leadership import NotLeaderError, refuse_writes
from dynamo.store.ports import GroupEntry, GroupOutcome

SITE = "T2_CH_CERN"
TAKEN_LFN = "/store/data/taken.root"
WRITERS = 90


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]) -> Any:
    url = database_url_factory(request.param)
    migrate(url)
    opened = SqlInventoryStore.open(url)
    yield opened
    opened.close()


class CountingStore:
    """Records the size of every group the service writes (the real store does the work)."""

    def __init__(self, store: SqlInventoryStore) -> None:
        self.store = store
        self.groups: list[int] = []
        self.real = store.write_group

    def __call__(self, entries: Sequence[GroupEntry], inventory: Inventory) -> list[GroupOutcome]:
        self.groups.append(len(entries))
        return self.real(entries, inventory)


def _dataset(n: int) -> str:
    return f"/GroupCommit/Writer{n}-v1/RAW"


def _changeset(n: int) -> ChangeSet:
    """Writer n's ChangeSet: odd writers extend the dataset of the writer before them."""
    if n % 2:
        return ChangeSet.of(
            [
                UpsertBlock(dataset=_dataset(n - 1), name=f"b{n}", size=1, num_files=1),
                UpsertFile(
                    lfn=f"/store/gc/{n}.root", dataset=_dataset(n - 1), block=f"b{n}", size=1
                ),
            ]
        )
    return ChangeSet.of(
        [UpsertDataset(name=_dataset(n)), UpsertDatasetReplica(dataset=_dataset(n), site=SITE)]
    )


def _invalid(n: int) -> ChangeSet:
    return ChangeSet.of([UpsertDatasetReplica(dataset=_dataset(0), site=f"T9_NOWHERE_{n}")])


def _conflicting() -> ChangeSet:
    """Valid for the model, refused by the store: the LFN belongs to another block."""
    return ChangeSet.of(
        [
            UpsertDataset(name="/GroupCommit/Thief-v1/RAW"),
            UpsertBlock(dataset="/GroupCommit/Thief-v1/RAW", name="b", size=1, num_files=1),
            UpsertFile(lfn=TAKEN_LFN, dataset="/GroupCommit/Thief-v1/RAW", block="b", size=1),
        ]
    )


def _refuse(_connection: object, _seq: int | None) -> None:
    raise RuntimeError("side write refused")


async def _fire(service: InventoryService) -> list[Any]:
    """All writes at once: valid ones, invalid ones, a conflict and a refused side write."""
    writes: list[Any] = []
    for n in range(WRITERS):
        writes.append(service.commit(_changeset(n)))
        if n % 9 == 4:
            writes.append(service.commit(_invalid(n)))
    writes.insert(30, service.commit(_conflicting()))
    writes.insert(50, service.commit(ChangeSet.of([UpsertGroup(name="Refused")]), also=_refuse))
    return await asyncio.gather(*writes, return_exceptions=True)


def test_concurrent_commits_share_transactions_and_failures_stay_alone(
    store: SqlInventoryStore,
) -> None:
    inventory = Inventory()
    store.commit(
        ChangeSet.of(
            [
                UpsertSite(name=SITE),
                UpsertDataset(name="/GroupCommit/Owner-v1/RAW"),
                UpsertBlock(dataset="/GroupCommit/Owner-v1/RAW", name="b", size=1, num_files=1),
                UpsertFile(lfn=TAKEN_LFN, dataset="/GroupCommit/Owner-v1/RAW", block="b", size=1),
            ]
        ),
        inventory,
    )
    start = store.last_seq()
    counting = CountingStore(store)
    store.write_group = counting  # type: ignore[method-assign]
    service = InventoryService(store, inventory, start, group_changesets=32)

    results = asyncio.run(_fire(service))

    seqs = [r for r in results if isinstance(r, int)]
    invalid = [r for r in results if isinstance(r, InvalidChangeSetError)]
    conflicts = [r for r in results if isinstance(r, StoreConflictError)]
    refused = [r for r in results if isinstance(r, RuntimeError) and "refused" in str(r)]
    assert len(seqs) == WRITERS, [r for r in results if not isinstance(r, int)]
    assert len(invalid) == len([n for n in range(WRITERS) if n % 9 == 4])
    assert all("T9_NOWHERE" in str(e) for e in invalid)
    assert (len(conflicts), len(refused)) == (1, 1)
    # every valid ChangeSet exactly once, in the order the writers asked, with its own seq
    logged = list(store.read_log(start))
    # (a rolled-back group may leave a gap in the seqs on PostgreSQL and MariaDB)
    assert sorted(seqs) == [seq for seq, _ in logged]
    assert len(set(seqs)) == WRITERS
    assert seqs == sorted(seqs)
    assert [cs for _, cs in logged] == [_changeset(n) for n in range(WRITERS)]
    # shared transactions (the groups that failed were retried one member at a time)
    assert len(counting.groups) < WRITERS
    assert max(counting.groups) > 1
    assert service.seq == store.last_seq()
    reloaded, seq = store.load()
    assert seq == service.seq
    assert describe(reloaded) == describe(service.inventory)


async def _plans(service: InventoryService, dataset: str, count: int) -> list[Any]:
    """Plans that each add the next block of ``dataset``: each reads how many it has."""

    async def next_block(inventory: Inventory) -> Sequence[Operation]:
        await asyncio.sleep(0)
        number = len(inventory.datasets[dataset].blocks)
        return [UpsertBlock(dataset=dataset, name=f"b{number}", size=number, num_files=number)]

    async def other(n: int) -> Sequence[Operation]:
        return [UpsertDataset(name=f"/GroupCommit/Plan{n}-v1/RAW")]

    writes: list[Any] = []
    for n in range(count):
        writes.append(service.commit_plan(next_block, grouped=True))
        writes.append(
            service.commit_plan(lambda _inventory, n=n: other(n), grouped=True)  # type: ignore[misc]
        )
    return await asyncio.gather(*writes)


def test_a_grouped_plan_never_reads_a_state_a_member_before_it_changed(
    store: SqlInventoryStore,
) -> None:
    dataset = "/GroupCommit/Plans-v1/RAW"
    inventory = Inventory()
    seq = store.commit(ChangeSet.of([UpsertDataset(name=dataset)]), inventory)
    counting = CountingStore(store)
    store.write_group = counting  # type: ignore[method-assign]
    service = InventoryService(store, inventory, seq)

    results = asyncio.run(_plans(service, dataset, 12))

    blocks = service.inventory.datasets[dataset].blocks
    assert len(blocks) == 12  # no lost update: every plan saw the blocks before it
    assert sorted(b.size for b in blocks.values()) == list(range(12))
    assert all(r.num_ops == 1 and len(r.seqs) == 1 for r in results)
    assert len(counting.groups) < len(results)  # the independent plans shared transactions
    reloaded, _ = store.load()
    assert describe(reloaded) == describe(service.inventory)


def test_a_refused_group_fails_every_member_without_retrying_them(
    store: SqlInventoryStore,
) -> None:
    """The epoch fence refuses the transaction: all fail at once, nothing is written."""
    inventory = Inventory()
    seq = store.commit(ChangeSet.of([UpsertSite(name=SITE)]), inventory)
    store.fence = refuse_writes
    counting = CountingStore(store)
    store.write_group = counting  # type: ignore[method-assign]
    service = InventoryService(store, inventory, seq)

    async def fire() -> list[Any]:
        writes = [service.commit(_changeset(2 * n)) for n in range(10)]
        return await asyncio.gather(*writes, return_exceptions=True)

    results = asyncio.run(fire())
    assert all(isinstance(r, NotLeaderError) for r in results), results
    assert len(counting.groups) < 10  # no member was retried alone
    assert store.last_seq() == seq
    assert service.seq == seq
