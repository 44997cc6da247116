"""Popularity: how often each dataset was read at each site on each UTC day.

An :class:`AccessRecord` is one row of ``popularity_accesses`` (migration 0005): dataset, site,
``day`` (epoch seconds at UTC midnight), the number of accesses and the CPU hours they used,
as the CMS popularity service (PopDB, CRAB) reported them. Records arrive from files, the REST
API or the benchmark generator and are kept per (dataset, site, day): a day sent again replaces
its counts. Detox's ``popularity`` producer reads one aggregate per dataset.

The :class:`PopularityStore` port has two implementations that pass one contract suite:
:class:`SqlPopularityStore` on the store's database (SQLite, PostgreSQL, MariaDB) and
:class:`MemoryPopularityStore`. The SQL functions are also usable on a bare engine::

    record_accesses(engine, records)             upsert, one transaction; returns the count
    write_accesses(connection, records)          the same in the caller's transaction
    dataset_access_summary(engine, since=day)    (dataset, last day, total) per dataset, streamed
    site_accesses(engine, dataset, since=day)    per-site totals of one dataset
    prune_accesses(engine, before=day)           delete older days; returns the count
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import DynamoError, StoreError
from dynamo.store.ports import InventoryStore
from dynamo.store.schema.detox import popularity_accesses
from dynamo.store.sql import SqlInventoryStore
from dynamo.store.sqlops import ROW_CHUNK, chunks, upsert

__all__ = [
    "DAY",
    "AccessRecord",
    "AccessRecordError",
    "MemoryPopularityStore",
    "PopularityStore",
    "SiteAccesses",
    "SqlPopularityStore",
    "dataset_access_summary",
    "day_of",
    "popularity_store_for",
    "prune_accesses",
    "record_accesses",
    "site_accesses",
    "write_accesses",
]

DAY: Final = 86_400
MAX_COUNT: Final = 2**63 - 1
"""The largest count a BIGINT column holds."""
DATASET_LENGTH: Final = 512
SITE_LENGTH: Final = 64

RecordProgress = Callable[[int], None]
"""Called with the number of records of each chunk once it is written."""


class AccessRecordError(DynamoError, ValueError):
    """An access record that cannot be stored as given (HTTP 400); the message names the
    field and the value."""

    code = "bad_request"


def day_of(epoch: int) -> int:
    """The UTC midnight starting the day that contains ``epoch`` (seconds)."""
    return epoch - epoch % DAY


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """Accesses to ``dataset`` at ``site`` during the UTC day starting at ``day``.

    Construction validates: names without whitespace (``#`` is not allowed in a dataset name),
    within the column lengths; ``day`` a non-negative multiple of 86400; ``num_accesses`` a
    non-negative int; ``cpu_hours`` a finite non-negative number. AccessRecordError otherwise.
    """

    dataset: str
    site: str
    day: int
    num_accesses: int
    cpu_hours: float = 0.0

    def __post_init__(self) -> None:
        dataset, site, day, count, hours = (
            self.dataset,
            self.site,
            self.day,
            self.num_accesses,
            self.cpu_hours,
        )
        if (  # the fast path of valid records (millions per import); else find the fault
            type(dataset) is str
            and type(site) is str
            and type(day) is int
            and type(count) is int
            and type(hours) in (float, int)
            and 0 < len(dataset) <= DATASET_LENGTH
            and 0 < len(site) <= SITE_LENGTH
            and 0 <= day <= MAX_COUNT
            and day % DAY == 0
            and 0 <= count <= MAX_COUNT
            and 0 <= hours < math.inf
            and _BAD_DATASET.search(dataset) is None
            and _BAD_SITE.search(site) is None
        ):
            return
        self._raise_fault()

    def _raise_fault(self) -> None:
        _check_name("dataset", self.dataset, DATASET_LENGTH, forbidden=_BAD_DATASET)
        _check_name("site", self.site, SITE_LENGTH, forbidden=_BAD_SITE)
        _check_count("day", self.day)
        if self.day % DAY:
            raise AccessRecordError(
                f"day: {self.day!r} is not a UTC midnight (a multiple of 86400)"
            )
        _check_count("num_accesses", self.num_accesses)
        hours = self.cpu_hours
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise AccessRecordError(f"cpu_hours: {hours!r} is not a number")
        raise AccessRecordError(f"cpu_hours: {hours!r} is not a finite non-negative number")

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.dataset, self.site, self.day)


_BAD_SITE: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_BAD_DATASET: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f#]")


def _check_name(field: str, value: object, length: int, *, forbidden: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not value:
        raise AccessRecordError(f"{field}: {value!r} is not a non-empty string")
    if len(value) > length:
        raise AccessRecordError(f"{field}: {value[:40]!r}... is longer than {length} characters")
    if forbidden.search(value) is not None:
        raise AccessRecordError(f"{field}: {value!r} contains whitespace or a forbidden character")


def _check_count(field: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AccessRecordError(f"{field}: {value!r} is not an integer")
    if not 0 <= value <= MAX_COUNT:
        raise AccessRecordError(f"{field}: {value!r} is out of range (0 to 2**63-1)")


@dataclass(frozen=True, slots=True)
class SiteAccesses:
    """The totals of one dataset at one site over a window; ``last_day`` its latest day."""

    site: str
    num_accesses: int
    cpu_hours: float
    last_day: int


class PopularityStore(Protocol):
    """Where access records are kept (contract: ``tests/contract/store/test_popularity.py``)."""

    def record(
        self, records: Iterable[AccessRecord], *, on_progress: RecordProgress | None = None
    ) -> int:
        """Store every record, all or none; a later record of the same (dataset, site, day)
        replaces an earlier one, stored or in the same call. Returns the records given."""
        ...

    def summary(self, *, since: int) -> Iterator[tuple[str, int, int]]:
        """``(dataset, last day, total accesses)`` over the days ``>= since``, one per dataset
        with a record there, in no particular order."""
        ...

    def site_accesses(self, dataset: str, *, since: int) -> list[SiteAccesses]:
        """The per-site totals of ``dataset`` over the days ``>= since``, by site name."""
        ...

    def prune(self, before: int) -> int:
        """Delete the records of the days ``< before``; returns how many."""
        ...


class MemoryPopularityStore:
    """The PopularityStore in a dict (tests, dry runs, a server on a memory inventory)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, int], tuple[int, float]] = {}

    def record(
        self, records: Iterable[AccessRecord], *, on_progress: RecordProgress | None = None
    ) -> int:
        staged: dict[tuple[str, str, int], tuple[int, float]] = {}
        total = 0
        for batch in chunks(records, ROW_CHUNK):  # records may fail midway: stage them first
            for record in batch:
                staged[record.key] = (record.num_accesses, float(record.cpu_hours))
            total += len(batch)
            if on_progress is not None:
                on_progress(len(batch))
        self._rows.update(staged)
        return total

    def summary(self, *, since: int) -> Iterator[tuple[str, int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for (dataset, _site, day), (count, _hours) in self._rows.items():
            if day >= since:
                last, total = found.get(dataset, (day, 0))
                found[dataset] = (max(last, day), total + count)
        for dataset in sorted(found):
            yield dataset, *found[dataset]

    def site_accesses(self, dataset: str, *, since: int) -> list[SiteAccesses]:
        found: dict[str, tuple[int, float, int]] = {}
        for (name, site, day), (count, hours) in self._rows.items():
            if name == dataset and day >= since:
                total, cpu, last = found.get(site, (0, 0.0, day))
                found[site] = (total + count, cpu + hours, max(last, day))
        return [SiteAccesses(site, *found[site]) for site in sorted(found)]

    def prune(self, before: int) -> int:
        old = [key for key in self._rows if key[2] < before]
        for key in old:
            del self._rows[key]
        return len(old)


class SqlPopularityStore:
    """The PopularityStore in ``popularity_accesses`` of ``engine``'s (migrated) database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self, records: Iterable[AccessRecord], *, on_progress: RecordProgress | None = None
    ) -> int:
        return record_accesses(self.engine, records, on_progress=on_progress)

    def summary(self, *, since: int) -> Iterator[tuple[str, int, int]]:
        return dataset_access_summary(self.engine, since=since)

    def site_accesses(self, dataset: str, *, since: int) -> list[SiteAccesses]:
        return site_accesses(self.engine, dataset, since=since)

    def prune(self, before: int) -> int:
        return prune_accesses(self.engine, before)


def popularity_store_for(store: InventoryStore) -> PopularityStore:
    """The access records next to an inventory store: its database, or memory."""
    if isinstance(store, SqlInventoryStore):
        return SqlPopularityStore(store.engine)
    return MemoryPopularityStore()


# ---------------------------------------------------------------------------- SQL


def record_accesses(
    engine: Engine,
    records: Iterable[AccessRecord],
    *,
    on_progress: RecordProgress | None = None,
) -> int:
    """Upsert ``records`` by (dataset, site, day) in ONE transaction; returns how many were
    given. A re-sent day replaces its counts; within the call the last record of a key wins.

    Records are written in chunks of ``ROW_CHUNK``: PostgreSQL by COPY into a temporary table
    and one ``INSERT ... ON CONFLICT`` per chunk, SQLite and MariaDB by their dialect's upsert
    with executemany. StoreError (nothing written) when the database fails.
    """
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                return write_accesses(conn, records, on_progress=on_progress)
    except SQLAlchemyError as exc:
        raise StoreError(f"storing access records failed, nothing was written: {exc}") from exc


def write_accesses(
    conn: Connection,
    records: Iterable[AccessRecord],
    *,
    on_progress: RecordProgress | None = None,
) -> int:
    """:func:`record_accesses` on ``conn``, inside the caller's transaction (a sync's: the
    inventory commit's, ``dynamo.store.synced``); returns how many. May be called more than
    once in one transaction. SQLAlchemyError on a database failure (the caller rolls back)."""
    total = 0
    copy = conn.dialect.name == "postgresql"
    if copy:
        _create_staging(conn)
    for batch in chunks(records, ROW_CHUNK):
        latest = {record.key: record for record in batch}
        if copy:
            _copy_upsert(conn, latest.values())
        else:
            _upsert(conn, latest.values())
        total += len(batch)
        if on_progress is not None:
            on_progress(len(batch))
    return total


def _upsert(conn: Connection, records: Iterable[AccessRecord]) -> None:
    rows = [
        {
            "dataset": r.dataset,
            "site": r.site,
            "day": r.day,
            "num_accesses": r.num_accesses,
            "cpu_hours": float(r.cpu_hours),
        }
        for r in records
    ]
    upsert(conn, popularity_accesses, rows, ["dataset", "site", "day"])


_STAGING = "popularity_in"
_BACKSLASH, _ESCAPED = "\\", "\\\\"


def _create_staging(conn: Connection) -> None:
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} "
            f"(dataset VARCHAR({DATASET_LENGTH}) NOT NULL, "
            f"site VARCHAR({SITE_LENGTH}) NOT NULL, day BIGINT NOT NULL, "
            "num_accesses BIGINT NOT NULL, cpu_hours DOUBLE PRECISION NOT NULL) ON COMMIT DROP"
        )
    )


def _copy_upsert(conn: Connection, records: Iterable[AccessRecord]) -> None:
    raw: Any = conn.connection.driver_connection
    columns = "dataset, site, day, num_accesses, cpu_hours"
    with raw.cursor() as cursor, cursor.copy(f"COPY {_STAGING} ({columns}) FROM STDIN") as copy:
        copy.write(_copy_text(records))
    conn.execute(
        text(
            "INSERT INTO popularity_accesses (dataset, site, day, num_accesses, cpu_hours) "
            f"SELECT dataset, site, day, num_accesses, cpu_hours FROM {_STAGING} "
            "ON CONFLICT (dataset, site, day) DO UPDATE SET "
            "num_accesses = excluded.num_accesses, cpu_hours = excluded.cpu_hours"
        )
    )
    conn.execute(text(f"TRUNCATE {_STAGING}"))


def _copy_text(records: Iterable[AccessRecord]) -> str:
    """COPY text format; validated names hold no whitespace or control character, so only
    the backslash needs escaping (bulk's formatter knows no floats, and is slower)."""
    return "".join(
        [
            f"{r.dataset.replace(_BACKSLASH, _ESCAPED)}\t{r.site.replace(_BACKSLASH, _ESCAPED)}"
            f"\t{r.day}\t{r.num_accesses}\t{float(r.cpu_hours)!r}\n"
            for r in records
        ]
    )


def dataset_access_summary(engine: Engine, *, since: int) -> Iterator[tuple[str, int, int]]:
    """``(dataset, last day, total accesses)`` over the days ``>= since``, aggregated by the
    database and streamed (server-side cursor), in no particular order. StoreError on failure."""
    table = popularity_accesses
    query = (
        select(table.c.dataset, func.max(table.c.day), func.sum(table.c.num_accesses))
        .where(table.c.day >= since)
        .group_by(table.c.dataset)
    )
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=20_000).execute(query)
            for dataset, last, total in result:
                yield dataset, int(last), int(total)
    except SQLAlchemyError as exc:
        raise StoreError(f"reading the access summary failed: {exc}") from exc


def site_accesses(engine: Engine, dataset: str, *, since: int) -> list[SiteAccesses]:
    """The per-site totals of ``dataset`` over the days ``>= since``, by site name."""
    table = popularity_accesses
    query = (
        select(
            table.c.site,
            func.sum(table.c.num_accesses),
            func.sum(table.c.cpu_hours),
            func.max(table.c.day),
        )
        .where(table.c.dataset == dataset, table.c.day >= since)
        .group_by(table.c.site)
        .order_by(table.c.site)
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"reading the accesses of {dataset!r} failed: {exc}") from exc
    return [SiteAccesses(site, int(n), float(cpu), int(last)) for site, n, cpu, last in rows]


def prune_accesses(engine: Engine, before: int) -> int:
    """Delete the records of the days ``< before`` in one transaction; returns how many."""
    try:
        with engine.begin() as conn:
            result = conn.execute(
                delete(popularity_accesses).where(popularity_accesses.c.day < before)
            )
    except SQLAlchemyError as exc:
        raise StoreError(f"pruning access records failed: {exc}") from exc
    return int(result.rowcount)
