"""The group commit's decisions: what a write touches, which queued writes share a group, and
which failures are retried one member at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError, OperationalError

from dynamo.errors import StoreConflictError, StoreError
from dynamo.model import (
    ChangeSet,
    DeleteFile,
    DeleteSite,
    Inventory,
    Operation,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertSite,
)
from dynamo.server.groupcommit import QueuedWrite, footprint, isolatable, select_group
from dynamo.store.leadership import NotLeaderError

A, B = "/A/Group-v1/RAW", "/B/Group-v1/RAW"


def test_a_footprint_names_the_datasets_written_and_the_sites_and_groups_used() -> None:
    found = footprint(
        [
            UpsertBlock(dataset=A, name="b1", size=1, num_files=1),
            UpsertBlockReplica(dataset=A, block="b1", site="T2_CH_CERN", group="DataOps"),
            UpsertSite(name="T1_US_FNAL"),
        ]
    )
    assert found.writes == {("dataset", A), ("site", "T1_US_FNAL")}
    assert found.reads == {("site", "T2_CH_CERN"), ("group", "DataOps")}
    assert not found.barrier
    assert footprint([DeleteSite(name="T2_CH_CERN")]).barrier
    assert footprint([DeleteFile(lfn="/store/x.root")]).barrier


def test_a_plan_is_stale_after_a_write_to_what_it_touches() -> None:
    plan = footprint([UpsertBlockReplica(dataset=A, block="b", site="T2_CH_CERN")])
    assert plan.stale_after(footprint([UpsertDataset(name=A)]))
    assert plan.stale_after(footprint([UpsertSite(name="T2_CH_CERN")]))
    assert not plan.stale_after(footprint([UpsertDataset(name=B)]))
    # reading the same site as an earlier write does not make it stale
    assert not plan.stale_after(
        footprint([UpsertBlockReplica(dataset=B, block="b", site="T2_CH_CERN")])
    )
    assert plan.stale_after(footprint([DeleteSite(name="T9_ELSEWHERE")]))


def test_only_failures_one_member_may_cause_are_retried_alone() -> None:
    def store_error(cause: BaseException) -> StoreError:
        try:
            raise StoreError("commit failed") from cause
        except StoreError as exc:
            return exc

    assert isolatable(StoreConflictError("registered to another block"))
    assert isolatable(store_error(IntegrityError("insert", {}, Exception("duplicate"))))
    assert isolatable(RuntimeError("a side write's own error"))
    assert not isolatable(store_error(OperationalError("connect", {}, Exception("refused"))))
    assert not isolatable(NotLeaderError("this server is not the leader"))


async def _queued(ops: Sequence[Operation], *, plan: bool) -> QueuedWrite:
    async def planned(_inventory: Inventory) -> Sequence[Operation]:
        return ops

    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    item = QueuedWrite(future, ChangeSet(tuple(ops)), plan=planned if plan else None)  # type: ignore[arg-type]
    item.chunk_ops = 3
    return item


async def test_a_group_is_the_prefix_before_the_first_stale_plan() -> None:
    batch = [
        await _queued([UpsertDataset(name=A)], plan=True),
        await _queued([UpsertDataset(name=B)], plan=False),
        await _queued([UpsertBlock(dataset=B, name="b", size=0, num_files=0)], plan=False),
        await _queued([UpsertBlock(dataset=A, name="b", size=0, num_files=0)], plan=True),
        await _queued([UpsertDataset(name="/C/Group-v1/RAW")], plan=True),
    ]
    group, rest = select_group(batch, group_ops=100)
    assert (group, rest) == (batch[:3], batch[3:])  # fixed ChangeSets join; the stale plan waits


async def test_a_group_keeps_to_its_operation_bound_and_a_large_plan_commits_alone() -> None:
    small = [
        await _queued([UpsertDataset(name=f"/D{n}/Group-v1/RAW")], plan=False) for n in range(4)
    ]
    group, rest = select_group(small, group_ops=2)
    assert (group, rest) == (small[:2], small[2:])
    large = await _queued([UpsertDataset(name=f"/L{n}/Group-v1/RAW") for n in range(4)], plan=True)
    group, rest = select_group([large, *small], group_ops=100)
    assert (group, rest) == ([large], small)
    group, rest = select_group([*small[:1], large], group_ops=100)
    assert (group, rest) == (small[:1], [large])
