"""Popularity records and replica locks for a generated inventory: ``dynamo bench extras``.

:func:`write_extras` reads a generated inventory back from its database (datasets and their
disk replicas, in id order) and writes, deterministically for a seed and a reference time:

- **access records** (``popularity_accesses``) for :data:`ACCESSED_SHARE` (40 %) of all
  datasets, drawn among those with a disk replica, at some of their disk sites, on days of the
  two years before the reference time. Heavy-tailed throughout (performance.md §5.1): a
  dataset's popularity is Pareto-distributed (the top 1 % of datasets take ~86 % of the
  accesses), so are its days of use per site and its daily counts; the last access is a few
  months old on average. CPU hours are 0.2-3 h per access.
- **replica locks** (``replica_locks``) on :data:`LOCKED_SHARE` (0.5 %) of the disk dataset
  replicas: whole datasets at every site (3 in 10), a dataset at its site (3 in 10), one block
  at its site (2 in 10), or a dataset at the sites of a pattern such as ``T2_US_*`` (2 in 10);
  some restricted to the DataOps group; held by the services that lock data at CMS (WMCore,
  Unified, Tier-0) or by hand; all created before and expiring after the reference time.

The records go through :func:`dynamo.store.popularity.record_accesses` (COPY on PostgreSQL),
the locks through one bulk insert. ``dynamo bench generate`` calls it last; on a database
generated earlier, ``dynamo bench extras --db URL --scale S`` does the same.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Final, Protocol

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.scales import Scale
from dynamo.errors import ConfigurationError, StoreError
from dynamo.model.enums import StorageType
from dynamo.store import schema
from dynamo.store.bulk import bulk_insert, reset_id_sequences
from dynamo.store.popularity import DAY, AccessRecord, day_of, record_accesses
from dynamo.store.schema.detox import popularity_accesses
from dynamo.store.schema.registry import replica_locks
from dynamo.store.sqlops import IN_CHUNK, chunks

__all__ = ["ACCESSED_SHARE", "LOCKED_SHARE", "ExtrasObserver", "ExtrasReport", "write_extras"]

ACCESSED_SHARE: Final = 0.40
"""Datasets with access records in the window, as a share of all datasets."""
LOCKED_SHARE: Final = 0.005
"""Disk dataset replicas a lock names, as a share of all of them."""
WINDOW_DAYS: Final = 730
_SITE_SHARE = 0.7  # each further disk site of an accessed dataset has accesses too
_MEAN_DAYS_SINCE_LAST = 90
_MAX_ACTIVE_DAYS = 120
_MAX_DAILY_ACCESSES = 1_000_000
# Pareto index of a dataset's popularity: the top 1 % of datasets then take ~86 % of the
# accesses at scale M (performance.md §5.1: 85-90 % in the real CMS traces).
_POPULARITY_ALPHA = 0.9
# The forms of the locks in turn (a rotation, so that even the few locks of a small inventory
# take every form): 3/10 whole datasets, 3/10 a dataset at its site, 2/10 one block at its
# site, 2/10 a dataset at the sites of a pattern such as T2_US_*.
_LOCK_FORMS: Final = (
    *("dataset", "site", "block", "pattern"),
    *("dataset", "site", "block", "pattern"),
    *("dataset", "site"),
)
_SERVICES = (  # service, user, DN, comment, weight
    ("wmcore", "wmagent", "/DC=ch/DC=cern/OU=computers/CN=wmagent/vocms0192.cern.ch", "input", 0.4),
    ("unified", "unified", "/DC=ch/DC=cern/OU=computers/CN=unified/vocms0274.cern.ch", "", 0.3),
    ("t0", "tier0", "/DC=ch/DC=cern/OU=computers/CN=tier0/vocms001.cern.ch", "repack", 0.1),
    ("user", "dmoperator", "/DC=ch/DC=cern/OU=Users/CN=dmoperator", "analysis", 0.2),
)


class ExtrasObserver(Protocol):
    """Progress per table (a :class:`dynamo.bench.build.BuildObserver` is one)."""

    def table_started(self, table: str, expected_rows: int) -> None: ...

    def rows_written(self, table: str, count: int) -> None: ...

    def table_finished(self, table: str, rows: int, seconds: float) -> None: ...


@dataclass(slots=True)
class ExtrasReport:
    """What :func:`write_extras` wrote: rows and seconds per table, datasets with accesses."""

    scale: str
    seed: int
    accessed_datasets: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Lock:
    dataset_id: int
    dataset: str
    is_block: bool
    sites: str | None
    groups: str | None
    expires: int
    created: int
    service: int


def write_extras(
    engine: Engine,
    *,
    scale: Scale,
    seed: int = 0,
    reference_time: int = REFERENCE_TIME,
    observer: ExtrasObserver | None = None,
    replace: bool = False,
) -> ExtrasReport:
    """Write access records and replica locks for the inventory in ``engine``'s database.

    ``scale`` (what the inventory was generated at) sizes only the progress estimates: what is
    written follows the database's datasets and replicas. ConfigurationError when the database
    holds no dataset, or already holds access records or locks and ``replace`` is off
    (``replace`` deletes them first); StoreError when the database fails.
    """
    report = ExtrasReport(scale.name, seed)
    try:
        counts = _prepare(engine, replace=replace)
        locks = _write_accesses(engine, counts, scale, seed, reference_time, observer, report)
        _write_locks(engine, locks, observer, report)
    except SQLAlchemyError as exc:
        raise StoreError(f"writing the popularity records and locks failed: {exc}") from exc
    return report


def _prepare(engine: Engine, *, replace: bool) -> tuple[int, int]:
    """(datasets, datasets with a disk replica); empties the tables if ``replace``."""
    with engine.begin() as conn:
        datasets = conn.execute(select(func.count()).select_from(schema.datasets)).scalar_one()
        if not datasets:
            raise ConfigurationError("the database holds no dataset: generate an inventory first")
        for table in (popularity_accesses, replica_locks):
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                if not replace:
                    raise ConfigurationError(
                        f"the database already holds {table.name} rows; use --force to "
                        "replace the access records and locks"
                    )
                conn.execute(delete(table))
        with_disk = conn.execute(
            select(func.count(func.distinct(schema.dataset_replicas.c.dataset_id)))
            .join(schema.sites, schema.sites.c.id == schema.dataset_replicas.c.site_id)
            .where(schema.sites.c.storage_type == int(StorageType.DISK))
        ).scalar_one()
    return int(datasets), int(with_disk)


def _disk_replicas(engine: Engine) -> Iterator[tuple[int, str, int, list[str]]]:
    """(dataset id, name, last update, disk site names by site id) in dataset id order."""
    d, dr, s = schema.datasets, schema.dataset_replicas, schema.sites
    query = (
        select(d.c.id, d.c.name, d.c.last_update, s.c.name)
        .join(dr, dr.c.dataset_id == d.c.id)
        .join(s, s.c.id == dr.c.site_id)
        .where(s.c.storage_type == int(StorageType.DISK))
        .order_by(d.c.id, s.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execution_options(stream_results=True, yield_per=20_000).execute(query)
        for (dataset_id, name, last_update), group in groupby(rows, key=lambda r: r[:3]):
            yield dataset_id, name, last_update, [row[3] for row in group]


def _write_accesses(
    engine: Engine,
    counts: tuple[int, int],
    scale: Scale,
    seed: int,
    reference_time: int,
    observer: ExtrasObserver | None,
    report: ExtrasReport,
) -> list[_Lock]:
    """Stream the access records into the database; return the locks decided on the way."""
    datasets, with_disk = counts
    chance = min(1.0, ACCESSED_SHARE * datasets / max(1, with_disk))
    access_rng = random.Random(f"dynamo-bench:{seed}:popularity")
    lock_rng = random.Random(f"dynamo-bench:{seed}:locks")
    today = day_of(reference_time)
    locks: list[_Lock] = []
    accessed = 0

    def records() -> Iterator[AccessRecord]:
        nonlocal accessed
        for dataset_id, name, last_update, sites in _disk_replicas(engine):
            for site in sites:
                if lock_rng.random() < LOCKED_SHARE:
                    form = _LOCK_FORMS[len(locks) % len(_LOCK_FORMS)]
                    locks.append(_lock(lock_rng, dataset_id, name, site, reference_time, form))
            if access_rng.random() < chance:
                accessed += 1
                yield from _dataset_accesses(access_rng, name, last_update, sites, today)

    table = popularity_accesses.name
    started = time.perf_counter()
    if observer is not None:
        observer.table_started(table, int(ACCESSED_SHARE * scale.datasets * 7))
    progress = None if observer is None else (lambda n: observer.rows_written(table, n))
    written = record_accesses(engine, records(), on_progress=progress)
    report.accessed_datasets = accessed
    _finish(report, observer, table, written, started)
    return locks


def _dataset_accesses(
    rng: random.Random, name: str, last_update: int, sites: list[str], today: int
) -> Iterator[AccessRecord]:
    """One dataset's records: a Pareto popularity, the last access ~3 months ago, a few days
    of use per site (heavy-tailed), heavy-tailed daily counts."""
    start = max(today - (WINDOW_DAYS - 1) * DAY, day_of(min(last_update, today)))
    span = (today - start) // DAY + 1
    last = today - min(span - 1, int(rng.expovariate(1 / _MEAN_DAYS_SINCE_LAST))) * DAY
    available = (last - start) // DAY + 1
    weight = rng.paretovariate(_POPULARITY_ALPHA)
    for index, site in enumerate(sites):
        if index and rng.random() >= _SITE_SHARE:
            continue
        active = min(available, _MAX_ACTIVE_DAYS, int(rng.paretovariate(1.0)))
        offsets = rng.sample(range(1, available), active - 1) if active > 1 else []
        for offset in [0, *offsets]:
            count = min(_MAX_DAILY_ACCESSES, max(1, int(weight * rng.paretovariate(1.5))))
            hours = round(count * rng.uniform(0.2, 3.0), 2)
            yield AccessRecord(name, site, last - offset * DAY, count, hours)


def _lock(rng: random.Random, dataset_id: int, name: str, site: str, now: int, form: str) -> _Lock:
    sites: str | None = site
    if form == "dataset":
        sites = None  # the whole dataset, wherever it is
    elif form == "pattern":
        sites = "_".join(site.split("_")[:2]) + "_*"  # e.g. every T2_US_* site
    return _Lock(
        dataset_id=dataset_id,
        dataset=name,
        is_block=form == "block",
        sites=sites,
        groups="DataOps" if rng.random() < 0.1 else None,
        expires=now + rng.randint(1, 180) * DAY + rng.randrange(DAY),
        created=now - rng.randint(0, 90) * DAY - rng.randrange(DAY),
        service=rng.choices(range(len(_SERVICES)), [s[4] for s in _SERVICES])[0],
    )


def _write_locks(
    engine: Engine, locks: list[_Lock], observer: ExtrasObserver | None, report: ExtrasReport
) -> None:
    table = replica_locks.name
    started = time.perf_counter()
    if observer is not None:
        observer.table_started(table, len(locks))
    with engine.begin() as conn:
        blocks = _first_blocks(conn, {lock.dataset_id for lock in locks if lock.is_block})
        first_id = (conn.execute(select(func.max(replica_locks.c.id))).scalar() or 0) + 1
        rows: list[tuple[object, ...]] = []
        for lock_id, lock in enumerate(locks, start=first_id):
            service, user, dn, comment, _ = _SERVICES[lock.service]
            item = f"{lock.dataset}#{blocks[lock.dataset_id]}" if lock.is_block else lock.dataset
            row = (
                lock_id,
                item,
                lock.sites,
                lock.groups,
                lock.expires,
                comment,
                user,
                dn,
                service,
                lock.created,
                None,
            )
            rows.append(row)
        written = bulk_insert(conn, replica_locks, rows)
        reset_id_sequences(conn, [replica_locks])
    if observer is not None:
        observer.rows_written(table, written)
    _finish(report, observer, table, written, started)


def _first_blocks(conn: Connection, dataset_ids: set[int]) -> dict[int, str]:
    """The first block name (in name order) of each dataset."""
    blocks = schema.blocks
    found: dict[int, str] = {}
    for batch in chunks(sorted(dataset_ids), IN_CHUNK):
        query = (
            select(blocks.c.dataset_id, func.min(blocks.c.name))
            .where(blocks.c.dataset_id.in_(batch))
            .group_by(blocks.c.dataset_id)
        )
        found.update((dataset_id, name) for dataset_id, name in conn.execute(query))
    return found


def _finish(
    report: ExtrasReport,
    observer: ExtrasObserver | None,
    table: str,
    rows: int,
    started: float,
) -> None:
    report.rows[table] = rows
    report.seconds[table] = time.perf_counter() - started
    if observer is not None:
        observer.table_finished(table, rows, report.seconds[table])
