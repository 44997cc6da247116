"""The updater's planner on an in-memory inventory: rows in, a ChangeSet and row changes out."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from dynamo.fileops.ports import OpKind, SubscriptionStatus
from dynamo.fileops.updater import (
    UPDATE_RECORD,
    NewSubscription,
    RowChanges,
    SubscriptionRow,
    UpdateInput,
    UpdateOptions,
    UpdatePlan,
    plan_update,
)
from dynamo.model import (
    ChangeSet,
    DeleteBlockReplica,
    DeleteDatasetReplica,
    Inventory,
    SiteStatus,
    UpsertBlockReplica,
    UpsertDatasetReplica,
    UpsertSite,
)
from fileops_data import (
    B1,
    B2,
    B3,
    DOWN,
    DS,
    DST,
    FILES,
    GROUP,
    NOW,
    OTHER,
    SRC,
    base_inventory,
    catalog,
    lfn,
)

_ids = itertools.count(1)


def row(
    index: int,
    status: str = "done",
    *,
    kind: str = "transfer",
    block: str = B1,
    dataset: str = DS,
    site: str = DST,
    hold_reason: str | None = None,
    updated: int = NOW - 10,
    has_task: bool = False,
) -> SubscriptionRow:
    file = next(f for f in FILES if f.lfn == lfn(dataset, block, index))
    return SubscriptionRow(
        id=next(_ids),
        kind=OpKind(kind),
        lfn=file.lfn,
        site=site,
        dataset=dataset,
        block=block,
        size=file.size,
        status=SubscriptionStatus(status),
        hold_reason=hold_reason,
        updated=updated,
        has_task=has_task,
    )


def plan(
    inventory: Inventory, *rows: SubscriptionRow, queued: tuple[Any, ...] = (), **options: Any
) -> UpdatePlan:
    result = plan_update(
        inventory,
        UpdateInput(subscriptions=rows, queued_deletions=queued),
        catalog(),
        now=NOW,
        options=UpdateOptions(**options),
    )
    inventory.apply(result.changeset)  # every plan validates and applies
    return result


def replica_at(inventory: Inventory, site: str, block: str = B1) -> tuple[int, int] | None:
    found = inventory.find_block_replica(DS, block, site)
    return None if found is None else (found.size, found.num_files)


def deleted_ids(result: UpdatePlan) -> set[int]:
    return {id_ for id_, _ in result.rows.deleted}


def with_partial_replica(size: int, num_files: int, group: str | None = GROUP) -> Inventory:
    inventory = base_inventory()
    inventory.apply(
        ChangeSet.of(
            [
                UpsertDatasetReplica(dataset=DS, site=DST, group=group),
                UpsertBlockReplica(
                    dataset=DS, block=B1, site=DST, group=group, size=size, num_files=num_files
                ),
            ]
        )
    )
    return inventory


# ---------------------------------------------------------------------- transfers


def test_a_block_replica_grows_file_by_file_and_becomes_complete() -> None:
    inventory = with_partial_replica(0, 0)
    first = row(0)
    grown = plan(inventory, first, row(1, "inbatch"), row(2, "new"))
    assert replica_at(inventory, DST) == (100, 1)
    assert grown.rows.deleted == ()  # kept: they are the list of files present

    second = row(1)
    plan(inventory, first, second, row(2, "inbatch"))
    assert replica_at(inventory, DST) == (300, 2)

    third = row(2)
    done = plan(inventory, first, second, third)
    assert replica_at(inventory, DST) == (600, 3)
    found = inventory.find_block_replica(DS, B1, DST)
    assert found is not None
    assert found.is_complete()
    assert deleted_ids(done) == {first.id, second.id, third.id}
    assert done.rows.inserted == ()


def test_an_unchanged_partial_replica_makes_no_operation() -> None:
    inventory = with_partial_replica(100, 1)
    result = plan(inventory, row(0), row(1, "inbatch"), row(2, "new"))
    assert result.changeset.ops == ()
    assert not result.rows


def test_transfers_to_a_site_without_replica_create_it_owned_by_the_default_group() -> None:
    inventory = base_inventory()
    result = plan(inventory, row(0), row(1, "new"), row(2, "new"), default_group=GROUP)
    assert isinstance(result.changeset.ops[0], UpsertDatasetReplica)
    assert replica_at(inventory, DST) == (100, 1)
    found = inventory.find_block_replica(DS, B1, DST)
    assert found is not None
    assert found.group.name == GROUP
    assert found.dataset_replica().group.name == GROUP


@pytest.mark.parametrize(
    ("default_group", "owner"),
    [(None, None), ("NoSuchGroup", None), (GROUP, GROUP)],
)
def test_the_owner_of_a_created_replica_is_the_default_group_if_it_exists(
    default_group: str | None, owner: str | None
) -> None:
    inventory = base_inventory()
    plan(inventory, row(0, block=B2), row(1, block=B2), default_group=default_group)
    found = inventory.find_block_replica(DS, B2, DST)
    assert found is not None
    assert found.is_complete()
    assert found.group.name == owner


def test_a_created_replica_takes_the_group_of_its_dataset_replica() -> None:
    inventory = base_inventory()
    inventory.apply(ChangeSet.of([UpsertDatasetReplica(dataset=DS, site=DST, group=GROUP)]))
    result = plan(inventory, row(0), row(1, "new"), row(2, "new"))
    assert not any(isinstance(op, UpsertDatasetReplica) for op in result.changeset.ops)
    found = inventory.find_block_replica(DS, B1, DST)
    assert found is not None
    assert found.group.name == GROUP


def test_done_transfers_of_a_complete_replica_are_deleted_without_change() -> None:
    inventory = base_inventory()
    done = row(0, site=SRC)
    result = plan(inventory, done)
    assert result.changeset.ops == ()
    assert deleted_ids(result) == {done.id}
    assert replica_at(inventory, SRC) == (600, 3)


def test_finished_subscriptions_of_an_unknown_block_are_dropped() -> None:
    inventory = base_inventory()
    ghost = SubscriptionRow(
        id=next(_ids),
        kind=OpKind.TRANSFER,
        lfn="/store/ghost.root",
        site=DST,
        dataset="/No/Such/DS",
        block="x",
        size=1,
        status=SubscriptionStatus.DONE,
    )
    result = plan(inventory, ghost)
    assert result.changeset.ops == ()
    assert deleted_ids(result) == {ghost.id}


# ---------------------------------------------------------------------- deletions


def test_done_deletions_shrink_a_complete_replica_then_remove_it_and_its_dataset_replica() -> None:
    inventory = base_inventory()
    first = row(0, kind="deletion", site=SRC)
    shrunk = plan(inventory, first, row(1, "inbatch", kind="deletion", site=SRC))
    assert replica_at(inventory, SRC) == (500, 2)
    assert deleted_ids(shrunk) == {first.id}

    second = row(1, kind="deletion", site=SRC)
    plan(inventory, second, row(2, "new", kind="deletion", site=SRC))
    assert replica_at(inventory, SRC) == (300, 1)

    third = row(2, kind="deletion", site=SRC)
    gone = plan(inventory, third, row(0, "new", kind="deletion", block=B2, site=SRC))
    assert replica_at(inventory, SRC) is None
    assert DeleteBlockReplica(dataset=DS, block=B1, site=SRC) in gone.changeset.ops
    assert not any(isinstance(op, DeleteDatasetReplica) for op in gone.changeset.ops)  # B2 left

    last = [row(i, kind="deletion", block=B2, site=SRC) for i in (0, 1)]
    emptied = plan(inventory, *last, queued=((DS, B2, SRC),))
    assert DeleteDatasetReplica(dataset=DS, site=SRC) in emptied.changeset.ops
    assert inventory.sites[SRC].dataset_replicas.keys() == {inventory.datasets[OTHER]}
    assert emptied.rows.deletions_done == ((DS, B2, SRC),)


def test_a_dataset_replica_losing_one_block_and_gaining_another_stays() -> None:
    inventory = with_partial_replica(100, 1, group=None)
    result = plan(inventory, row(0, kind="deletion"), row(0, block=B2), row(1, block=B2))
    assert DeleteBlockReplica(dataset=DS, block=B1, site=DST) in result.changeset.ops
    assert not any(isinstance(op, DeleteDatasetReplica) for op in result.changeset.ops)
    assert replica_at(inventory, DST, B2) == (100, 2)


def test_an_emptied_replica_with_pending_subscriptions_stays_empty() -> None:
    inventory = with_partial_replica(100, 1)
    result = plan(inventory, row(0, kind="deletion"), row(1, "new"))
    assert replica_at(inventory, DST) == (0, 0)
    assert result.rows.deletions_done == ()


def test_a_queued_detox_deletion_waits_for_its_pending_deletions() -> None:
    inventory = base_inventory()
    result = plan(
        inventory,
        row(0, kind="deletion", site=SRC),
        row(1, "inbatch", kind="deletion", site=SRC),
        queued=((DS, B1, SRC),),
    )
    assert result.rows.deletions_done == ()
    assert replica_at(inventory, SRC) == (500, 2)


def test_a_queued_detox_deletion_of_a_replica_already_gone_is_done() -> None:
    inventory = base_inventory()
    result = plan(inventory, queued=((DS, B1, DST),))
    assert result.rows.deletions_done == ((DS, B1, DST),)
    assert result.changeset.ops == ()


@pytest.mark.parametrize(
    ("transfer_at", "deletion_at", "present"),
    [
        (NOW - 20, NOW - 10, (200, 1)),  # deleted after it arrived: gone
        (NOW - 10, NOW - 20, (300, 2)),  # copied again after the deletion: present
        (NOW - 10, NOW - 10, (200, 1)),  # a tie goes to the deletion
    ],
)
def test_a_file_both_transferred_and_deleted_follows_the_newer_row(
    transfer_at: int, deletion_at: int, present: tuple[int, int]
) -> None:
    inventory = with_partial_replica(0, 0)
    transfer = row(0, updated=transfer_at)
    deletion = row(0, kind="deletion", updated=deletion_at)
    result = plan(inventory, transfer, deletion, row(1), row(2, "new"))
    assert replica_at(inventory, DST) == present
    assert deletion.id in deleted_ids(result)
    assert (transfer.id in deleted_ids(result)) == (present == (200, 1))


def test_deletions_of_an_untracked_partial_replica_subtract_from_it() -> None:
    inventory = with_partial_replica(300, 2, group=None)
    plan(inventory, row(1, kind="deletion"))
    assert replica_at(inventory, DST) == (100, 1)


# ---------------------------------------------------------------------- re-subscription


def test_missing_files_of_an_owned_incomplete_replica_are_subscribed_again() -> None:
    inventory = with_partial_replica(100, 1)
    result = plan(inventory, row(0))
    assert result.rows.inserted == (
        NewSubscription(
            lfn=lfn(DS, B1, 1), site=DST, dataset=DS, block=B1, size=200, adler32="00000002"
        ),
        NewSubscription(
            lfn=lfn(DS, B1, 2), site=DST, dataset=DS, block=B1, size=300, adler32="00000003"
        ),
    )


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (("new", "transfer"), {2}),
        (("held", "transfer"), {2}),
        (("cancelled", "transfer"), {2}),
        (("new", "deletion"), set()),  # a replica being deleted is not filled again
        (("done", "deletion"), set()),
        (("cancelled", "deletion"), {1, 2}),
    ],
)
def test_files_with_a_subscription_are_not_subscribed_again(
    other: tuple[str, str], expected: set[int]
) -> None:
    inventory = with_partial_replica(100, 1)
    status, kind = other
    result = plan(inventory, row(0), row(1, status, kind=kind, updated=NOW - 30))
    assert {s.lfn for s in result.rows.inserted} == {lfn(DS, B1, i) for i in expected}


def test_replicas_of_the_null_group_and_complete_ones_are_not_subscribed_again() -> None:
    inventory = with_partial_replica(100, 1, group=None)
    assert plan(inventory).rows.inserted == ()


def test_re_subscription_can_be_left_out() -> None:
    inventory = with_partial_replica(0, 0)
    assert plan(inventory, resubscribe=False).rows.inserted == ()


def test_re_subscription_stops_at_the_budget() -> None:
    inventory = with_partial_replica(0, 0)
    assert len(plan(inventory, max_resubscriptions=2).rows.inserted) == 2


# ---------------------------------------------------------------------- held, cancelled


@pytest.mark.parametrize(
    ("site", "reason", "released"),
    [
        (DST, "site_unavailable", True),
        (DOWN, "site_unavailable", False),
        (DST, "no_source", True),  # SRC holds the block complete
        (DST, "all_failed", False),  # an operator decides
    ],
)
def test_held_subscriptions_are_released_when_their_cause_is_gone(
    site: str, reason: str, released: bool
) -> None:
    inventory = base_inventory()
    held = row(0, "held", site=site, hold_reason=reason)
    result = plan(inventory, held, row(1, "new", site=site), row(2, "new", site=site))
    assert result.rows.released == ((held.id,) if released else ())


def test_no_source_stays_held_while_the_only_copy_is_at_a_site_not_ready() -> None:
    inventory = base_inventory()
    inventory.apply(ChangeSet.of([UpsertSite(name=SRC, status=SiteStatus.MORGUE)]))
    held = row(0, "held", hold_reason="no_source")
    assert plan(inventory, held, row(1, "new"), row(2, "new")).rows.released == ()


def test_cancelled_subscriptions_without_task_are_dropped_unless_they_pin_a_missing_file() -> None:
    inventory = with_partial_replica(100, 1)
    pinned = row(1, "cancelled")
    busy = row(2, "cancelled", has_task=True)
    elsewhere = row(0, "cancelled", block=B3, dataset=OTHER)
    deletion = row(0, "cancelled", kind="deletion", block=B2)
    result = plan(inventory, row(0), pinned, busy, elsewhere, deletion)
    assert deleted_ids(result) == {elsewhere.id, deletion.id}
    assert result.rows.inserted == ()


def test_a_cancelled_transfer_goes_once_its_replica_passed_to_the_null_group() -> None:
    inventory = with_partial_replica(100, 1, group=None)
    cancelled = row(1, "cancelled")
    assert deleted_ids(plan(inventory, row(0), cancelled)) == {cancelled.id}


# ---------------------------------------------------------------------- the record


def test_row_changes_survive_the_application_record() -> None:
    changes = RowChanges(
        deleted=((3, "done"), (4, "cancelled")),
        released=(7,),
        inserted=(
            NewSubscription(lfn="/a", site=DST, dataset=DS, block=B1, size=5, adler32="00000001"),
        ),
        deletions_done=((DS, B1, SRC),),
    )
    record = changes.to_record()
    assert record["kind"] == UPDATE_RECORD
    assert RowChanges.from_record(record) == changes


def test_the_plan_summary_counts_what_it_does() -> None:
    inventory = base_inventory()
    result = plan(inventory, row(0, block=B2), row(1, block=B2), default_group=GROUP)
    assert result.summary() == {
        "block_replicas_updated": 1,
        "block_replicas_deleted": 0,
        "dataset_replicas_created": 1,
        "dataset_replicas_deleted": 0,
        "subscriptions_deleted": 2,
        "subscriptions_released": 0,
        "subscriptions_created": 0,
        "replica_deletions_done": 0,
    }
    assert result.reasons
