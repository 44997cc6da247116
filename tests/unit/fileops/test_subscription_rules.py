"""Subscribing, cancelling and releasing follow the queue's rules (on a SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select, update

from dynamo.fileops.ports import HoldReason, OpKind
from dynamo.fileops.subscriptions import FileRef, cancel, cancel_files, release, subscribe
from dynamo.store import migrate
from dynamo.store.engine import make_engine
from dynamo.store.schema.fileops import fileop_failures
from dynamo.store.schema.fileops import fileop_subscriptions as subs

NOW = 1_700_000_000
REFS = [
    FileRef(lfn=f"/store/f{i}.root", dataset="/D/P/AOD", block="b", size=10, adler32="0000000a")
    for i in range(3)
]


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    migrate(sqlite_url)
    made = make_engine(sqlite_url)
    yield made
    made.dispose()


def statuses(engine: Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(select(subs.c.kind, subs.c.lfn, subs.c.status)).all()
    return {(kind, lfn): status for kind, lfn, status in rows}


def set_status(engine: Engine, kind: OpKind, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(subs).where(subs.c.kind == kind.value).values(status=status))


def test_subscribing_twice_changes_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        first = subscribe(conn, OpKind.TRANSFER, "S", REFS, origin="operator", now=NOW)
        again = subscribe(conn, OpKind.TRANSFER, "S", REFS, origin="operator", now=NOW)
    assert (first.created, again.created, again.unchanged) == (3, 0, 3)


@pytest.mark.parametrize("kind", [OpKind.TRANSFER, OpKind.DELETION])
@pytest.mark.parametrize("opposite_status", ["new", "retry", "held", "inbatch"])
def test_a_subscription_cancels_the_pending_opposite_one(
    engine: Engine, kind: OpKind, opposite_status: str
) -> None:
    opposite = OpKind.DELETION if kind is OpKind.TRANSFER else OpKind.TRANSFER
    with engine.begin() as conn:
        subscribe(conn, opposite, "S", REFS[:1], origin="detox", now=NOW)
    set_status(engine, opposite, opposite_status)
    with engine.begin() as conn:
        summary = subscribe(conn, kind, "S", REFS[:1], origin="operator", now=NOW)
    assert summary.cancelled_opposite == 1
    found = statuses(engine)
    assert found[(opposite.value, REFS[0].lfn)] == "cancelled"
    assert found[(kind.value, REFS[0].lfn)] == "new"


def test_a_done_opposite_subscription_is_left_for_the_updater(engine: Engine) -> None:
    with engine.begin() as conn:
        subscribe(conn, OpKind.DELETION, "S", REFS[:1], origin="detox", now=NOW)
    set_status(engine, OpKind.DELETION, "done")
    with engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "S", REFS[:1], origin="operator", now=NOW)
    assert statuses(engine)[("deletion", REFS[0].lfn)] == "done"


@pytest.mark.parametrize(
    ("own", "opposite", "expected"),
    [
        ("cancelled", None, "new"),
        ("done", None, "done"),
        ("done", "new", "done"),
        ("done", "inbatch", "new"),
        ("done", "done", "new"),
        ("held", None, "held"),
    ],
)
def test_subscribing_again_revives_only_what_needs_doing(
    engine: Engine, own: str, opposite: str | None, expected: str
) -> None:
    with engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "S", REFS[:1], origin="operator", now=NOW)
        if opposite is not None:
            conn.execute(
                insert(subs).values(
                    kind="deletion",
                    lfn=REFS[0].lfn,
                    site="S",
                    dataset="/D/P/AOD",
                    block="b",
                    size=10,
                    adler32="0000000a",
                    status=opposite,
                    origin="detox",
                    created=NOW,
                    updated=NOW,
                )
            )
    set_status(engine, OpKind.TRANSFER, own)
    with engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "S", REFS[:1], origin="operator", now=NOW + 1)
    assert statuses(engine)[("transfer", REFS[0].lfn)] == expected


def test_cancel_touches_only_pending_subscriptions(engine: Engine) -> None:
    with engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "S", REFS, origin="operator", now=NOW)
        conn.execute(update(subs).where(subs.c.lfn == REFS[0].lfn).values(status="done"))
        ids = list(conn.execute(select(subs.c.id)).scalars())
        assert cancel(conn, ids, now=NOW) == 2
        assert cancel_files(conn, OpKind.TRANSFER, "S", [REFS[1].lfn], now=NOW) == 0
    assert sorted(statuses(engine).values()) == ["cancelled", "cancelled", "done"]


def test_release_sends_held_back_to_new_and_forgets_their_failures(engine: Engine) -> None:
    with engine.begin() as conn:
        subscribe(conn, OpKind.TRANSFER, "S", REFS, origin="operator", now=NOW)
        conn.execute(update(subs).values(status="held", hold_reason=HoldReason.ALL_FAILED.value))
        ids = list(conn.execute(select(subs.c.id).order_by(subs.c.id)).scalars())
        conn.execute(
            insert(fileop_failures),
            [{"subscription_id": i, "source_site": "A", "exit_code": 5, "at": NOW} for i in ids],
        )
        assert release(conn, subscription_ids=ids[:2], now=NOW) == 2
        left = conn.execute(select(fileop_failures.c.subscription_id)).scalars().all()
        assert release(conn, reason=HoldReason.NO_SOURCE, now=NOW) == 0
    assert left == [ids[2]]
    assert sorted(statuses(engine).values()) == ["held", "new", "new"]
