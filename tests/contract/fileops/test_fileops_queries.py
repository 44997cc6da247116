"""The file-operation queries on every backend: queue, held, history, rates, release, cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dynamo.errors import ConfigurationError
from dynamo.fileops.ports import OpKind
from dynamo.fileops.queries import (
    HeldCount,
    QueueState,
    cancel,
    held_summary,
    history,
    link_rates,
    queued,
    release,
)
from dynamo.store import SqlInventoryStore
from fileops_data import (
    B1,
    B2,
    B3,
    DOWN,
    DS,
    DST,
    NOW,
    OTHER,
    SRC,
    add_batch_task,
    add_history,
    add_subscription,
    base_ops,
    lfn,
    subscription_rows,
)

BACKENDS = ("sqlite", "postgresql", "mysql")
DatabaseUrlFactory = Callable[[str], str]  # the fixture of tests/conftest.py


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, database_url_factory: DatabaseUrlFactory
) -> Iterator[SqlInventoryStore]:
    store = SqlInventoryStore.open(database_url_factory(request.param), upgrade=True)
    store.commit(base_ops(), store.load()[0])
    yield store
    store.close()


def test_current_transfers_come_in_id_order_with_their_latest_task(
    store: SqlInventoryStore,
) -> None:
    engine = store.engine
    new = add_subscription(engine, index=0)
    inbatch = add_subscription(engine, index=1, status="inbatch")
    add_batch_task(engine, inbatch, status="failed")
    latest = add_batch_task(engine, inbatch, status="active")
    retry = add_subscription(engine, index=2, status="retry")
    add_subscription(engine, block=B2, index=0, status="done")
    add_subscription(engine, block=B2, index=1, status="held", hold_reason="no_source")
    add_subscription(engine, block=B3, dataset=OTHER, index=0, kind="deletion", site=SRC)

    page = queued(engine, kind=OpKind.TRANSFER)
    assert [e.id for e in page.items] == [new, inbatch, retry]
    assert page.next is None
    entry = page.items[1].to_json()
    assert entry["task_id"] == latest
    assert (entry["task_status"], entry["source_site"], entry["backend"]) == (
        "active",
        SRC,
        "standalone",
    )
    assert page.items[0].task_id is None
    [deletion] = queued(engine, kind=OpKind.DELETION).items
    assert (deletion.site, deletion.lfn) == (SRC, lfn(OTHER, B3, 0))


def test_the_queue_pages_follow_next_and_filter_by_site_and_dataset_globs(
    store: SqlInventoryStore,
) -> None:
    engine = store.engine
    ids = [add_subscription(engine, index=i, site=site) for site in (DST, DOWN) for i in range(3)]
    seen: list[int] = []
    after = None
    while True:
        page = queued(engine, kind=OpKind.TRANSFER, limit=4, after_id=after)
        seen += [e.id for e in page.items]
        if page.next is None:
            break
        after = page.next
    assert seen == ids
    assert len(queued(engine, kind=OpKind.TRANSFER, site="T2_D?WN").items) == 3
    assert len(queued(engine, kind=OpKind.TRANSFER, site="t2_*").items) == 0
    assert len(queued(engine, kind=OpKind.TRANSFER, dataset="/Fileops/*").items) == 6
    assert len(queued(engine, kind=OpKind.TRANSFER, dataset=OTHER).items) == 0
    assert queued(engine, kind=OpKind.TRANSFER, after_id=2**63 - 1).items == ()


def test_held_subscriptions_are_listed_with_their_reason(store: SqlInventoryStore) -> None:
    engine = store.engine
    add_subscription(engine, index=0)
    held = add_subscription(engine, index=1, status="held", hold_reason="site_unavailable")
    failed = add_subscription(engine, index=2, status="held", hold_reason="all_failed")
    page = queued(engine, kind=OpKind.TRANSFER, state=QueueState.HELD)
    assert [(e.id, e.hold_reason) for e in page.items] == [
        (held, "site_unavailable"),
        (failed, "all_failed"),
    ]
    only = queued(engine, kind=OpKind.TRANSFER, state=QueueState.HELD, reason="all_failed")
    assert [e.id for e in only.items] == [failed]


def test_held_subscriptions_are_counted_per_site_and_reason(store: SqlInventoryStore) -> None:
    engine = store.engine
    for index in range(3):
        add_subscription(engine, index=index, status="held", hold_reason="no_source")
    add_subscription(engine, block=B2, index=0, status="held", hold_reason="all_failed")
    add_subscription(engine, block=B2, index=1, site=DOWN, status="held", hold_reason="no_source")
    add_subscription(engine, block=B3, dataset=OTHER, index=0)
    assert held_summary(engine, kind=OpKind.TRANSFER) == [
        HeldCount(site=DOWN, reason="no_source", files=1, bytes=50),
        HeldCount(site=DST, reason="all_failed", files=1, bytes=50),
        HeldCount(site=DST, reason="no_source", files=3, bytes=600),
    ]
    assert len(held_summary(engine, kind=OpKind.TRANSFER, site=DOWN)) == 1
    assert held_summary(engine, kind=OpKind.DELETION) == []


def test_history_is_newest_first_and_filters_by_site_dataset_since_and_status(
    store: SqlInventoryStore,
) -> None:
    engine = store.engine
    add_history(engine, finished=NOW - 300, name=lfn(DS, B1, 0))
    add_history(engine, finished=NOW - 200, status="failed", exit_code=5, name=lfn(DS, B1, 1))
    add_history(engine, finished=NOW - 100, site=DOWN, name=lfn(OTHER, B3, 0))
    add_history(engine, kind="deletion", site=SRC, finished=NOW - 50)
    all_transfers = history(engine, kind=OpKind.TRANSFER)
    assert [e.finished for e in all_transfers.items] == [NOW - 100, NOW - 200, NOW - 300]
    assert [e.lfn for e in history(engine, kind=OpKind.TRANSFER, site=DST).items] == [
        lfn(DS, B1, 1),
        lfn(DS, B1, 0),
    ]
    assert [e.lfn for e in history(engine, kind=OpKind.TRANSFER, dataset=OTHER).items] == [
        lfn(OTHER, B3, 0)
    ]
    assert len(history(engine, kind=OpKind.TRANSFER, since=NOW - 200).items) == 2
    [failed] = history(engine, kind=OpKind.TRANSFER, status="failed").items
    assert (failed.exit_code, failed.source_site) == (5, SRC)
    [deletion] = history(engine, kind=OpKind.DELETION).items
    assert deletion.source_site is None
    first = history(engine, kind=OpKind.TRANSFER, limit=2)
    assert first.next is not None
    rest = history(engine, kind=OpKind.TRANSFER, limit=2, before_id=first.next)
    assert [e.finished for e in rest.items] == [NOW - 300]
    assert rest.next is None


def test_link_rates_sum_the_window(store: SqlInventoryStore) -> None:
    engine = store.engine
    for size in (1000, 2000, 3000):
        add_history(engine, size=size, finished=NOW - 600)
    add_history(engine, size=5000, status="failed", exit_code=110, finished=NOW - 10)
    add_history(engine, size=7000, finished=NOW - 4000)  # outside the window
    add_history(engine, source_site=DOWN, size=360, finished=NOW - 1)
    add_history(engine, kind="deletion", site=SRC, size=10, finished=NOW - 5)
    rates = link_rates(engine, kind=OpKind.TRANSFER, now=NOW, window=3600)
    assert [(r.source_site, r.site) for r in rates] == [(SRC, DST), (DOWN, DST)]
    main = rates[0]
    assert (main.files_done, main.files_failed, main.bytes_done) == (3, 1, 6000)
    assert main.bytes_per_second == pytest.approx(6000 / 3600)
    assert main.files_per_hour == pytest.approx(3.0)
    [deletions] = link_rates(engine, kind=OpKind.DELETION, now=NOW, window=60)
    assert (deletions.source_site, deletions.site, deletions.files_per_hour) == (
        None,
        SRC,
        pytest.approx(60.0),
    )
    assert link_rates(engine, kind=OpKind.TRANSFER, now=NOW, site="T1_*") == []


def test_release_frees_held_subscriptions_by_id_site_and_reason(store: SqlInventoryStore) -> None:
    engine = store.engine
    a = add_subscription(engine, index=0, status="held", hold_reason="all_failed")
    b = add_subscription(engine, index=1, status="held", hold_reason="no_source")
    c = add_subscription(engine, index=2, site=DOWN, status="held", hold_reason="all_failed")
    d = add_subscription(engine, block=B2, index=0, status="new")
    assert release(engine, now=NOW, site=DST, reason="all_failed") == 1
    assert release(engine, now=NOW, ids=[b, d]) == 1
    assert release(engine, now=NOW, ids=[2**70]) == 0
    rows = subscription_rows(engine, ("id", "status", "hold_reason"))
    assert rows == {
        (a, "new", None),
        (b, "new", None),
        (c, "held", "all_failed"),
        (d, "new", None),
    }
    with pytest.raises(ConfigurationError, match="select subscriptions"):
        release(engine, now=NOW)


def test_thousands_of_ids_are_released_in_one_call(store: SqlInventoryStore) -> None:
    engine = store.engine
    held = add_subscription(engine, index=0, status="held", hold_reason="all_failed")
    assert release(engine, now=NOW, ids=[*range(held + 1, held + 5000), held]) == 1


def test_cancel_marks_pending_subscriptions_and_leaves_done_ones(store: SqlInventoryStore) -> None:
    engine = store.engine
    pending = [add_subscription(engine, index=i, status=s) for i, s in enumerate(("new", "held"))]
    done = add_subscription(engine, index=2, status="done")
    other = add_subscription(engine, block=B3, dataset=OTHER, index=0, status="inbatch")
    assert cancel(engine, now=NOW, dataset=DS) == 2
    assert cancel(engine, now=NOW, ids=[other], kind=OpKind.DELETION) == 0
    assert cancel(engine, now=NOW, ids=[other], site=DST) == 1
    statuses = dict(subscription_rows(engine, ("id", "status")))
    assert statuses == {
        pending[0]: "cancelled",
        pending[1]: "cancelled",
        done: "done",
        other: "cancelled",
    }
    with pytest.raises(ConfigurationError):
        cancel(engine, now=NOW, kind=OpKind.TRANSFER)
