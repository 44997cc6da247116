"""The reads of the Detox history, on every SQL backend, against rows written as Detox does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from databases import SQL_BACKENDS
from detox_history_data import PHYSICS_TEXT, SAFETY_TEXT, WrittenCycle, write_cycle
from dynamo.errors import NotFoundError, StoreError
from dynamo.store import (
    CycleMode,
    CycleSite,
    CycleStatus,
    Verdict,
    cycle_decisions,
    cycle_deletions,
    cycle_lines,
    cycle_policy,
    cycle_sites,
    get_cycle,
    iter_decisions,
    latest_cycles,
    list_cycles,
    make_engine,
    migrate,
    site_history,
)
from dynamo.store.schema.detox import detox_cycles


@pytest.fixture(params=SQL_BACKENDS)
def engine(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[Engine]:
    url = database_url_factory(str(request.param))
    migrate(url)
    made = make_engine(url)
    yield made
    made.dispose()


@pytest.fixture
def written(engine: Engine) -> WrittenCycle:
    return write_cycle(engine)


def _decision_json(row: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    line = next(x for x in lines if x["line_id"] == row["line_id"])
    return {
        "id": row["id"],
        "site": row["site"],
        "dataset": row["dataset"],
        "decision": row["decision"],
        "line_id": row["line_id"],
        "line_number": line["line_number"],
        "line_text": line["text"],
        "size": row["size"],
        "num_blocks": row["num_blocks"],
    }


# ---------------------------------------------------------------------- cycles


def test_a_cycle_reads_back_as_it_was_written(engine: Engine, written: WrittenCycle) -> None:
    cycle = get_cycle(engine, written.id)

    assert cycle.mode is CycleMode.RUN
    assert cycle.status is CycleStatus.COMMITTED
    expected = {k: v for k, v in written.cycle.items() if k not in ("policy_text", "summary")}
    assert {k: v for k, v in cycle.to_json().items() if k in expected} == {
        **expected,
        "mode": "run",
        "status": "committed",
    }
    assert cycle.id == written.id
    assert cycle.summary == {
        "deleted_bytes": sum(d["size"] for d in written.decisions if d["decision"] == "delete")
    }


@pytest.mark.parametrize(
    "read",
    [get_cycle, cycle_sites, cycle_lines, cycle_policy, cycle_decisions, cycle_deletions],
    ids=lambda f: f.__name__,
)
def test_every_read_of_an_unknown_cycle_is_not_found(
    engine: Engine, written: WrittenCycle, read: Callable[[Engine, int], object]
) -> None:
    for cycle_id in (0, -1, written.id + 1, 2**63 - 1, 2**63, 2**80):
        with pytest.raises(NotFoundError, match=f"no Detox cycle with id {cycle_id}"):
            read(engine, cycle_id)


def test_cycles_are_listed_newest_first_and_paged_by_before_id(engine: Engine) -> None:
    ids = [write_cycle(engine, started=1_700_000_000 + i, seed=i).id for i in range(5)]

    first = list_cycles(engine, limit=2)
    second = list_cycles(engine, limit=2, before_id=first.next)
    last = list_cycles(engine, limit=2, before_id=second.next)

    assert [c.id for c in (*first.items, *second.items, *last.items)] == ids[::-1]
    assert (first.next, second.next, last.next) == (ids[3], ids[1], None)
    assert list_cycles(engine, limit=5).next is None
    assert list_cycles(engine, before_id=ids[0]).items == ()
    assert [c.id for c in list_cycles(engine, before_id=2**70).items] == ids[::-1]


def test_cycles_filter_by_partition_case_sensitively_and_by_status(engine: Engine) -> None:
    physics = write_cycle(engine).id
    test = write_cycle(engine, mode="test", status="test").id
    failed = write_cycle(engine, partition="DataOps", status="failed").id
    write_cycle(engine, partition="physics")

    def ids(**filters: Any) -> list[int]:
        return [c.id for c in list_cycles(engine, **filters).items]

    assert ids(partition="Physics") == [test, physics]
    assert ids(partition="Physics", status=CycleStatus.COMMITTED) == [physics]
    assert ids(status=CycleStatus.FAILED) == [failed]
    assert ids(partition="Nope") == []


def test_latest_cycles_give_the_newest_cycle_of_every_partition_with_its_policy_error(
    engine: Engine,
) -> None:
    write_cycle(engine, partition="Physics")
    newest_physics = write_cycle(
        engine, partition="Physics", policy_error="Physics.txt line 7: unknown variable"
    ).id
    data_ops = write_cycle(engine, partition="DataOps", mode="test", status="test").id

    latest = latest_cycles(engine)

    assert [(c.partition, c.id) for c in latest] == [
        ("DataOps", data_ops),
        ("Physics", newest_physics),
    ]
    assert latest[1].policy_error == "Physics.txt line 7: unknown variable"
    assert latest[0].policy_error is None


def test_no_cycles_at_all_are_empty_listings(engine: Engine) -> None:
    assert latest_cycles(engine) == []
    assert list_cycles(engine).items == ()


# ---------------------------------------------------------------------- sites, lines, policy


def test_sites_come_back_by_name_with_their_outcome(engine: Engine, written: WrittenCycle) -> None:
    sites = cycle_sites(engine, written.id)

    # MariaDB stores occupancies in single precision (FLOAT).
    expected = [
        {**s, **{k: pytest.approx(s[k], rel=1e-5) for k in ("occupancy_before", "occupancy_after")}}
        for s in sorted(written.sites, key=lambda s: s["site"])
    ]
    assert [s.to_json() for s in sites] == expected


def test_an_infinite_occupancy_is_null_in_json() -> None:
    site = CycleSite(
        site="T2_US_MIT",
        status="READY",
        quota_bytes=0,
        occupancy_before=float("inf"),
        occupancy_after=float("inf"),
        triggered=True,
        protected_bytes=0,
        kept_bytes=10,
        deleted_bytes=0,
        stop_reason="no quota",
    )
    assert site.to_json()["occupancy_before"] is None


def test_lines_come_in_policy_order_after_the_safety_rule(
    engine: Engine, written: WrittenCycle
) -> None:
    lines = cycle_lines(engine, written.id)

    assert [x.to_json() for x in lines] == written.lines
    assert (lines[0].line_id, lines[0].text) == (-1, SAFETY_TEXT)
    assert (lines[1].line_number, lines[1].text) == (12, "Ignore site.name == T*_MSS")
    assert (lines[-1].action, lines[-1].text) == ("Dismiss", "Dismiss")


def test_the_policy_holds_the_text_the_cycle_ran_with_and_its_lines(
    engine: Engine, written: WrittenCycle
) -> None:
    policy = cycle_policy(engine, written.id)

    assert policy.text == PHYSICS_TEXT
    assert policy.hash == written.cycle["policy_hash"]
    assert (policy.partition, policy.error) == ("Physics", None)
    assert policy.lines == tuple(cycle_lines(engine, written.id))


# ---------------------------------------------------------------------- decisions


def test_decisions_page_through_every_row_in_id_order_with_their_line(
    engine: Engine, written: WrittenCycle
) -> None:
    other = write_cycle(engine, seed=7)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = cycle_decisions(engine, written.id, limit=7, after_id=cursor)
        seen.extend(d.to_json() for d in page.items)
        if page.next is None:
            break
        assert (len(page.items), page.next) == (7, page.items[-1].id)
        cursor = page.next

    assert seen == [_decision_json(row, written.lines) for row in written.decisions]
    assert not {d["id"] for d in seen} & {d["id"] for d in other.decisions}


def _expected(
    written: WrittenCycle, site: str | None, dataset: str | None, decision: str | None
) -> list[int]:
    return [
        row["id"]
        for row in written.decisions
        if (site is None or fnmatchcase(row["site"], site))
        and (dataset is None or fnmatchcase(row["dataset"], dataset))
        and (decision is None or row["decision"] == decision)
    ]


@pytest.mark.parametrize(
    ("site", "dataset", "decision"),
    [
        ("T2_US_MIT", None, None),
        ("T2_*", None, None),
        ("T?_US_*", None, "delete"),
        (None, "*/MINIAODSIM", None),
        (None, "*/miniaodsim", None),
        (None, "/ADDGrav*", "keep"),
        ("T2_CH_CERN", None, "protect"),
        ("t2_us_mit", None, None),
        (None, "*_13TeV-*", None),
        (None, "*%*", None),
    ],
)
def test_decisions_filter_by_site_dataset_and_decision_case_sensitively(
    engine: Engine,
    written: WrittenCycle,
    site: str | None,
    dataset: str | None,
    decision: str | None,
) -> None:
    found = cycle_decisions(
        engine,
        written.id,
        site=site,
        dataset=dataset,
        decision=None if decision is None else Verdict(decision),
        limit=10_000,
    )

    assert [d.id for d in found.items] == _expected(written, site, dataset, decision)


def test_an_exact_dataset_name_finds_its_decisions_only(
    engine: Engine, written: WrittenCycle
) -> None:
    name = written.decisions[3]["dataset"]

    found = cycle_decisions(engine, written.id, dataset=name).items

    assert found
    assert {d.dataset for d in found} == {name}
    assert cycle_decisions(engine, written.id, dataset=name.upper()).items == ()


def test_decisions_stream_in_chunks_from_a_cursor(engine: Engine, written: WrittenCycle) -> None:
    chunks = list(iter_decisions(engine, written.id, chunk=10))

    assert [len(c) for c in chunks[:-1]] == [10] * (len(chunks) - 1)
    assert [d.id for c in chunks for d in c] == [row["id"] for row in written.decisions]
    start = written.decisions[20]["id"]
    rest = [d.id for c in iter_decisions(engine, written.id, after_id=start) for d in c]
    assert rest == [row["id"] for row in written.decisions[21:]]


def test_a_stream_of_an_unknown_cycle_fails_at_once_and_an_empty_one_yields_one_empty_chunk(
    engine: Engine,
) -> None:
    with pytest.raises(NotFoundError):
        next(iter_decisions(engine, 12345))
    empty = write_cycle(engine, sites=())
    assert list(iter_decisions(engine, empty.id)) == [()]


@pytest.mark.parametrize("after_id", [2**63 - 1, 2**63, 2**80])
def test_nothing_follows_the_largest_id(
    engine: Engine, written: WrittenCycle, after_id: int
) -> None:
    assert cycle_decisions(engine, written.id, after_id=after_id) == cycle_decisions(
        engine, written.id, after_id=10**12
    )
    assert cycle_deletions(engine, written.id, after_id=after_id).items == ()


def test_a_negative_cursor_starts_at_the_beginning(engine: Engine, written: WrittenCycle) -> None:
    assert cycle_decisions(engine, written.id, after_id=-(2**70)) == cycle_decisions(
        engine, written.id
    )
    assert list_cycles(engine, before_id=-(2**70)).items == ()


@pytest.mark.parametrize("limit", [0, -5])
def test_a_limit_below_one_is_refused(engine: Engine, limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        list_cycles(engine, limit=limit)
    with pytest.raises(ValueError, match="limit must be at least 1"):
        cycle_decisions(engine, 1, limit=limit)
    with pytest.raises(ValueError, match="limit must be at least 1"):
        cycle_deletions(engine, 1, limit=limit)


# ---------------------------------------------------------------------- deletions, failures


def test_deletions_are_those_of_the_cycle_in_id_order(
    engine: Engine, written: WrittenCycle
) -> None:
    other = write_cycle(engine, seed=3)

    first = cycle_deletions(engine, written.id, limit=5)
    rest = cycle_deletions(engine, written.id, limit=1000, after_id=first.next)

    got = [d.to_json() for d in (*first.items, *rest.items)]
    assert got == [{k: v for k, v in row.items() if k != "cycle_id"} for row in written.deletions]
    assert rest.next is None
    assert len(got) == sum(1 for d in written.decisions if d["decision"] == "delete")
    assert not {d["id"] for d in got} & {d["id"] for d in other.deletions}


def test_a_cycle_whose_summary_is_not_json_is_a_store_error(engine: Engine) -> None:
    written = write_cycle(engine, sites=())
    with engine.begin() as conn:
        bad = conn.execute(
            insert(detox_cycles).values({**written.cycle, "summary": "{not json"})
        ).inserted_primary_key
    assert bad is not None

    with pytest.raises(StoreError, match=f"Detox cycle {bad[0]} has an unreadable row"):
        get_cycle(engine, int(bad[0]))


def test_a_database_without_the_tables_is_a_store_error(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with pytest.raises(StoreError, match="listing Detox cycles failed"):
            list_cycles(engine)
    finally:
        engine.dispose()


def test_a_sites_history_lists_its_finished_cycles_oldest_first(engine: Engine) -> None:
    day = 86_400
    done = [
        write_cycle(engine, started=1_700_000_000 + n * day, seed=n, **extra)
        for n, extra in enumerate([{}, {"mode": "test", "status": "test"}, {}])
    ]
    write_cycle(engine, status="failed", started=1_800_000_000, seed=9)  # left out
    write_cycle(engine, partition="DataOps", seed=10)  # another partition: left out
    points = site_history(engine, "T2_US_MIT", "Physics")
    assert [p.cycle_id for p in points] == [c.id for c in done]
    assert [p.mode for p in points] == [CycleMode.RUN, CycleMode.TEST, CycleMode.RUN]
    for point, cycle in zip(points, done, strict=True):
        row = next(s for s in cycle.sites if s["site"] == "T2_US_MIT")
        assert point.started == cycle.cycle["started"]
        assert point.occupancy_before == pytest.approx(row["occupancy_before"])
        assert point.occupancy_after == pytest.approx(row["occupancy_after"])
        assert point.deleted_bytes == row["deleted_bytes"]
    assert [p.cycle_id for p in site_history(engine, "T2_US_MIT", "Physics", limit=2)] == [
        done[1].id,
        done[2].id,
    ]
    assert site_history(engine, "T9_XX_Nowhere", "Physics") == []
