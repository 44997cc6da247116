"""The demo grid: a small CMS-like inventory whose files really exist in local directories.

:func:`build_grid` generates the inventory with the benchmark generator (real CMS site and
dataset names, the real partitions), shrinks it so that a terabyte of the generated inventory
is a megabyte on disk, writes every file of every block replica under ``sites/SITE/`` (the same
bytes wherever a file has copies, so checksums agree), records their adler32, sets the quotas
so that one disk site is above the CMS high watermark and the others have room, gives one site
a poor transfer record, and plants one missing file and one orphan for consistency to find.
"""

from __future__ import annotations

import os
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import BigInteger, Engine, bindparam, cast, func, insert, select, update

from dynamo.bench.build import BuildObserver, build_database
from dynamo.bench.scales import Scale
from dynamo.policy import partition_compiler
from dynamo.store import SqlInventoryStore
from dynamo.store.engine import make_engine
from dynamo.store.schema import block_replicas, blocks, files, quotas, sites
from dynamo.store.schema.fileops import fileop_history
from dynamo.store.sqlops import chunks

__all__ = [
    "DEMO_SCALE",
    "PARTITION",
    "SHRINK",
    "GridLayout",
    "GridReport",
    "build_grid",
    "file_content",
]

DEMO_SCALE = Scale(
    name="demo",
    datasets=160,
    blocks=800,
    files=4_800,
    t1_sites=1,
    t2_sites=5,
    with_t0=False,
    with_ral_echo=False,
)
PARTITION = "Physics"
SHRINK = 1_000_000
"""Bytes of the generated inventory per byte on disk: a TB of inventory is a MB of files."""
FULL_OCCUPANCY = 0.95
"""The over-full site's Physics occupancy: above the 90 % high watermark."""
ROOMY_OCCUPANCY = 0.55
"""The other disk sites' Physics occupancy: room for what Dealer places."""
POOR_RELIABILITY = (6, 24)
"""Done and failed transfers in the poor site's recent record (20 % success)."""
DAY = 86_400


@dataclass(frozen=True, slots=True)
class GridLayout:
    """Where the pieces of a demo grid live under ``root``."""

    root: Path

    @property
    def db_path(self) -> Path:
        return self.root / "dynamo.sqlite"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path.resolve()}"

    def site_dir(self, site: str) -> Path:
        return self.root / "sites" / site

    def path_of(self, site: str, lfn: str) -> Path:
        return self.site_dir(site) / lfn.lstrip("/")


@dataclass(slots=True)
class GridReport:
    """What :func:`build_grid` made."""

    sites: dict[str, str] = field(default_factory=dict)
    """Site name -> role: tape, full, poor, disk."""
    files_written: int = 0
    bytes_written: int = 0
    missing: tuple[str, str] = ("", "")
    """(site, LFN) of the planted missing file."""
    orphan: tuple[str, str] = ("", "")
    """(site, LFN) of the planted orphan."""
    seconds: float = 0.0

    def site_with(self, role: str) -> str:
        return next(site for site, what in self.sites.items() if what == role)


def file_content(lfn: str, size: int) -> bytes:
    """The demo bytes of ``lfn``: its name repeated, cut to ``size``."""
    unit = f"{lfn}\n".encode()
    return (unit * (size // len(unit) + 1))[:size]


def build_grid(
    layout: GridLayout,
    *,
    seed: int = 1,
    now: int | None = None,
    observer: BuildObserver | None = None,
    on_files: Callable[[int], None] | None = None,
    with_files: bool = True,
) -> GridReport:
    """Build the grid in ``layout.root`` from scratch (an existing one is replaced).
    ``with_files=False``: the database only, no file on disk and nothing planted (for tests
    of the cycles, which never read the storage)."""
    started = time.perf_counter()
    now = int(time.time()) if now is None else now
    layout.root.mkdir(parents=True, exist_ok=True)
    for stale in (layout.db_path, *layout.root.glob("dynamo.sqlite-*")):
        stale.unlink(missing_ok=True)
    _remove_tree(layout.root / "sites")
    build_database(
        layout.db_url,
        DEMO_SCALE,
        seed=seed,
        reference_time=now - now % DAY,
        force=True,
        observer=observer,
    )
    engine = make_engine(layout.db_url)
    report = GridReport()
    try:
        _shrink(engine)
        if with_files:
            _write_files(engine, layout, report, on_files)
        _set_quotas(engine, layout, report, now)
        _poor_record(engine, report, now)
        if with_files:
            _plant(engine, layout, report, seed, now)
    finally:
        engine.dispose()
    report.seconds = time.perf_counter() - started
    return report


def _remove_tree(root: Path) -> None:
    if not root.exists():
        return
    for directory, subdirs, names in os.walk(root, topdown=False):
        for name in names:
            os.unlink(os.path.join(directory, name))
        for name in subdirs:
            os.rmdir(os.path.join(directory, name))
    root.rmdir()


def _shrink(engine: Engine) -> None:
    """Divide every size by SHRINK (at least a byte a file), complete every block replica."""
    with engine.begin() as conn:
        conn.execute(update(files).values(size=files.c.size // SHRINK + 1))
        block_size = (
            select(func.sum(files.c.size)).where(files.c.block_id == blocks.c.id).scalar_subquery()
        )
        conn.execute(update(blocks).values(size=block_size))
        conn.execute(update(block_replicas).values(size=None, num_files=None))
        conn.execute(update(quotas).values(quota=quotas.c.quota // SHRINK))


def _replica_files(engine: Engine) -> Iterator[tuple[str, int, str, int]]:
    """(site, file id, LFN, size) of every file of every block replica."""
    query = (
        select(sites.c.name, files.c.id, files.c.lfn, files.c.size)
        .select_from(block_replicas)
        .join(sites, sites.c.id == block_replicas.c.site_id)
        .join(files, files.c.block_id == block_replicas.c.block_id)
        .order_by(files.c.id)
    )
    with engine.connect() as conn:
        yield from conn.execute(query)


def _write_files(
    engine: Engine, layout: GridLayout, report: GridReport, on_files: Callable[[int], None] | None
) -> None:
    checksums: dict[int, str] = {}
    for site, file_id, lfn, size in _replica_files(engine):
        data = file_content(lfn, size)
        path = layout.path_of(site, lfn)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if file_id not in checksums:
            checksums[file_id] = f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
        report.files_written += 1
        report.bytes_written += size
        if on_files is not None:
            on_files(1)
    statement = update(files).where(files.c.id == bindparam("fid")).values(adler32=bindparam("a"))
    with engine.begin() as conn:
        for batch in chunks(checksums.items(), 5_000):
            conn.execute(statement, [{"fid": fid, "a": value} for fid, value in batch])


def _set_quotas(engine: Engine, layout: GridLayout, report: GridReport, now: int) -> None:
    """Scale each disk site's quotas so its Physics occupancy is what its role asks for."""
    store = SqlInventoryStore.open(layout.db_url)
    try:
        inventory, _ = store.load(partition_compiler(now=now))
    finally:
        store.close()
    physics = inventory.partitions[PARTITION]
    disk = []
    for site in sorted(inventory.sites.values(), key=lambda s: s.name):
        usage = site.partitions[physics]
        if site.storage_type.name != "DISK":
            report.sites[site.name] = "tape"
        elif usage.effective_quota() > 0 and usage.physical_bytes > 0:
            disk.append((usage.physical_bytes, site.name, usage.effective_quota()))
        else:
            report.sites[site.name] = "disk"
    disk.sort(reverse=True)
    roles = ["full", "disk", "poor"] + ["disk"] * len(disk)
    for (used, name, quota), role in zip(disk, roles, strict=False):
        report.sites[name] = role
        wanted = used / (FULL_OCCUPANCY if role == "full" else ROOMY_OCCUPANCY)
        site_id = select(sites.c.id).where(sites.c.name == name).scalar_subquery()
        with engine.begin() as conn:
            conn.execute(
                update(quotas)
                .where(quotas.c.site_id == site_id)
                .values(quota=cast(quotas.c.quota * (wanted / quota), BigInteger))
            )


def _poor_record(engine: Engine, report: GridReport, now: int) -> None:
    """Recent transfers to the poor site, most of them failed."""
    poor = report.site_with("poor")
    source = next(site for site, role in report.sites.items() if role in ("disk", "full"))
    done, failed = POOR_RELIABILITY
    rows = [
        {
            "kind": "transfer",
            "lfn": f"/store/demo/reliability/{index}.root",
            "site": poor,
            "source_site": source,
            "backend": "standalone",
            "size": 1_000,
            "status": "done" if index < done else "failed",
            "exit_code": None if index < done else 5,
            "message": None if index < done else "demo: the site's storage timed out",
            "origin": "demo",
            "created": now - 3_600 + index,
            "started": now - 3_600 + index,
            "finished": now - 3_000 + index,
        }
        for index in range(done + failed)
    ]
    with engine.begin() as conn:
        conn.execute(insert(fileop_history), rows)


def _plant(engine: Engine, layout: GridLayout, report: GridReport, seed: int, now: int) -> None:
    """Remove one file of an old replica at a roomy disk site that has another disk copy, and
    write one file that no replica accounts for."""
    rng = random.Random(f"dynamo-demo:{seed}:plant")
    roomy = sorted(site for site, role in report.sites.items() if role == "disk")
    candidates: list[tuple[str, str]] = []
    copies: dict[str, set[str]] = {}
    for site, _id, lfn, _size in _replica_files(engine):
        if report.sites[site] in ("disk", "full"):
            copies.setdefault(lfn, set()).add(site)
    old = now - DAY
    with engine.connect() as conn:
        stale = {
            (site, block_id)
            for site, block_id in conn.execute(
                select(sites.c.name, block_replicas.c.block_id)
                .join(sites, sites.c.id == block_replicas.c.site_id)
                .where(block_replicas.c.last_update < old)
            )
        }
        block_of = dict(conn.execute(select(files.c.lfn, files.c.block_id)).all())
    for lfn, holders in sorted(copies.items()):
        candidates += [
            (site, lfn)
            for site in sorted(holders)
            if site in roomy and len(holders) > 1 and (site, block_of[lfn]) in stale
        ]
    site, lfn = rng.choice(candidates)
    layout.path_of(site, lfn).unlink()
    report.missing = (site, lfn)
    orphan_site = roomy[-1]
    orphan = "/store/user/demo/forgotten/orphan_0001.root"
    path = layout.path_of(orphan_site, orphan)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file_content(orphan, 4_096))
    os.utime(path, (old - DAY, old - DAY))
    report.orphan = (orphan_site, orphan)
