"""PopularityStore contract: upserts by (dataset, site, day), summaries, per-site totals, pruning.

Run on memory, SQLite, PostgreSQL and MariaDB; the SQL stores are the module functions on an
engine, so these tests cover ``record_accesses``, ``dataset_access_summary``, ``site_accesses``
and ``prune_accesses`` too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dynamo.store import make_engine, migrate
from dynamo.store.popularity import (
    AccessRecord,
    AccessRecordError,
    MemoryPopularityStore,
    PopularityStore,
    SiteAccesses,
    SqlPopularityStore,
)
from dynamo.store.sqlops import ROW_CHUNK
from popularity_data import AOD, DATASET_NAMES, MINIAOD, RAW, SITES, access, days_ago

MIT, FNAL, CERN, DESY = SITES


@pytest.fixture(params=("memory", "sqlite", "postgresql", "mysql"))
def popularity(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[PopularityStore]:
    if request.param == "memory":
        yield MemoryPopularityStore()
        return
    url = database_url_factory(str(request.param))
    migrate(url)
    engine = make_engine(url)
    yield SqlPopularityStore(engine)
    engine.dispose()


def summary(store: PopularityStore, since: int = days_ago(730)) -> dict[str, tuple[int, int]]:
    return {dataset: (last, total) for dataset, last, total in store.summary(since=since)}


def test_an_empty_store_has_no_summary(popularity: PopularityStore) -> None:
    assert summary(popularity) == {}


def test_the_summary_is_the_last_day_and_the_total_over_sites_and_days(
    popularity: PopularityStore,
) -> None:
    written = popularity.record(
        [
            access(AOD, MIT, ago=10, count=3),
            access(AOD, FNAL, ago=2, count=4),
            access(AOD, MIT, ago=5, count=5),
            access(MINIAOD, CERN, ago=400, count=7),
        ]
    )
    assert written == 4
    assert summary(popularity) == {
        AOD: (days_ago(2), 12),
        MINIAOD: (days_ago(400), 7),
    }


def test_a_day_sent_again_replaces_its_counts(popularity: PopularityStore) -> None:
    popularity.record([access(AOD, MIT, ago=3, count=10, cpu_hours=2.5)])
    popularity.record([access(AOD, MIT, ago=3, count=4, cpu_hours=1.5)])
    assert summary(popularity) == {AOD: (days_ago(3), 4)}
    assert popularity.site_accesses(AOD, since=days_ago(30)) == [
        SiteAccesses(MIT, 4, 1.5, days_ago(3))
    ]


def test_within_one_call_the_last_record_of_a_day_wins(popularity: PopularityStore) -> None:
    popularity.record([access(RAW, DESY, ago=1, count=9), access(RAW, DESY, ago=1, count=2)])
    assert summary(popularity) == {RAW: (days_ago(1), 2)}


def test_the_summary_counts_only_days_since_the_given_one(popularity: PopularityStore) -> None:
    popularity.record(
        [
            access(AOD, MIT, ago=800, count=50),
            access(AOD, MIT, ago=100, count=1),
            access(MINIAOD, MIT, ago=731, count=5),
        ]
    )
    assert summary(popularity, since=days_ago(730)) == {AOD: (days_ago(100), 1)}
    assert summary(popularity, since=days_ago(100)) == {AOD: (days_ago(100), 1)}
    assert summary(popularity, since=days_ago(99)) == {}


def test_site_accesses_sum_counts_and_cpu_hours_per_site_in_site_order(
    popularity: PopularityStore,
) -> None:
    popularity.record(
        [
            access(AOD, MIT, ago=1, count=3, cpu_hours=1.5),
            access(AOD, MIT, ago=9, count=2, cpu_hours=0.5),
            access(AOD, CERN, ago=4, count=1, cpu_hours=0.25),
            access(AOD, CERN, ago=900, count=100, cpu_hours=64.0),
            access(MINIAOD, MIT, ago=1, count=7),
        ]
    )
    assert popularity.site_accesses(AOD, since=days_ago(730)) == [
        SiteAccesses(CERN, 1, 0.25, days_ago(4)),
        SiteAccesses(MIT, 5, 2.0, days_ago(1)),
    ]
    assert popularity.site_accesses(RAW, since=days_ago(730)) == []


def test_prune_deletes_the_days_before_the_given_one(popularity: PopularityStore) -> None:
    popularity.record(
        [access(AOD, MIT, ago=ago) for ago in (1, 729, 730, 731, 1000)]
        + [access(MINIAOD, FNAL, ago=2000)]
    )
    assert popularity.prune(days_ago(730)) == 3
    assert summary(popularity, since=0) == {AOD: (days_ago(1), 3)}
    assert popularity.prune(days_ago(730)) == 0


def test_a_failure_midway_writes_nothing(popularity: PopularityStore) -> None:
    popularity.record([access(AOD, MIT, ago=1, count=1)])

    def records() -> Iterator[AccessRecord]:
        yield access(AOD, MIT, ago=1, count=99)
        for name in DATASET_NAMES[: ROW_CHUNK + 10]:
            yield access(name, CERN, ago=2)
        raise AccessRecordError("line 10012: num_accesses: -1 is out of range")

    with pytest.raises(AccessRecordError, match="line 10012"):
        popularity.record(records())
    assert summary(popularity, since=0) == {AOD: (days_ago(1), 1)}


def test_large_batches_are_written_whole_and_report_progress(
    popularity: PopularityStore,
) -> None:
    names = DATASET_NAMES[:1_000]
    records = [
        access(name, site, ago=day, count=day + 1, cpu_hours=0.5)
        for name in names
        for site in (MIT, CERN)
        for day in range(12)
    ]
    records.append(access(names[0], MIT, ago=0, count=1000))  # replaces a key of chunk 1
    reported: list[int] = []
    assert popularity.record(records, on_progress=reported.append) == len(records)
    assert sum(reported) == len(records)
    assert len(reported) == -(-len(records) // ROW_CHUNK)
    found = summary(popularity)
    assert len(found) == len(names)
    per_site = 2 * sum(range(1, 13))
    assert found[names[1]] == (days_ago(0), per_site)
    assert found[names[0]] == (days_ago(0), per_site - 1 + 1000)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dataset": ""}, "dataset: '' is not a non-empty string"),
        ({"dataset": "/A/B C/AOD"}, "whitespace"),
        ({"dataset": f"{AOD}#block"}, "forbidden character"),
        ({"site": "T2_US_MIT\n"}, "site"),
        ({"site": "T" * 65}, "longer than 64"),
        ({"day": 1_581_552_001}, "not a UTC midnight"),
        ({"day": -86_400}, "day: -86400 is out of range"),
        ({"num_accesses": -1}, "num_accesses: -1 is out of range"),
        ({"num_accesses": True}, "num_accesses: True is not an integer"),
        ({"num_accesses": 2.0}, "num_accesses: 2.0 is not an integer"),
        ({"cpu_hours": float("nan")}, "cpu_hours: nan"),
        ({"cpu_hours": -0.5}, "cpu_hours: -0.5"),
        ({"cpu_hours": "1"}, "cpu_hours: '1' is not a number"),
    ],
)
def test_an_access_record_refuses_bad_values_naming_the_field(
    fields: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {
        "dataset": AOD,
        "site": MIT,
        "day": days_ago(0),
        "num_accesses": 1,
        "cpu_hours": 0.0,
    }
    values.update(fields)
    with pytest.raises(AccessRecordError, match=message):
        AccessRecord(**values)  # type: ignore[arg-type]
