"""The synthetic CMS-like inventory generator (performance.md §5.1), as streams of table rows.

:class:`InventoryGenerator` is deterministic: the same scale, seed and reference time give the
same rows, whatever the machine. It reads no clock: ``reference_time`` (seconds since the epoch,
UTC) is "now" for the generated history. Each table's rows come from :meth:`rows`, as tuples in
the column order of :mod:`dynamo.store.schema`, with integer ids assigned here. Tables must be
streamed in :data:`TABLE_ORDER` (later tables use what earlier ones decided), each exactly once;
only the dataset-level plan and a few ints per block are held in memory, so scale M streams its
60M file rows without holding them.

Separate random streams (one per concern, seeded from ``seed``) keep e.g. the file rows identical
whether or not they are generated.
"""

from __future__ import annotations

import random
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

from dynamo.bench import distributions as dist
from dynamo.bench.catalog import load_partition_definitions
from dynamo.bench.names import DatasetNamer, block_uuid, file_uuid, lfn_prefix
from dynamo.bench.scales import Scale
from dynamo.bench.sites import SiteSpec, select_sites
from dynamo.errors import ConfigurationError
from dynamo.model.enums import DatasetStatus, DataType, GroupLevel, SiteStatus, StorageType

__all__ = ["REFERENCE_TIME", "TABLE_ORDER", "InventoryGenerator", "Row"]

Row = tuple[object, ...]

REFERENCE_TIME = 1_581_552_000
"""2020-02-13T00:00:00Z, the date of the real CMS policy snapshot: the default "now"."""

TABLE_ORDER = (
    "groups",
    "sites",
    "partitions",
    "datasets",
    "blocks",
    "files",
    "dataset_replicas",
    "block_replicas",
    "quotas",
)
"""The order in which :meth:`InventoryGenerator.rows` must be called (parents first)."""

DAY = 86_400
YEAR = 365 * DAY
_HISTORY = 10 * YEAR  # datasets were created over the ten years before the reference time
_GROUPS = ("AnalysisOps", "DataOps", "RelVal", "caf-comm", "caf-alca", "local", "IB RelVal")
_GROUPS_EXTRA = ("express", "FacOps")
_VERSION = re.compile(r"_(\d{2,3})X_")


@dataclass(slots=True)
class _DatasetPlan:
    """What the generator decided for one dataset before streaming its blocks."""

    name: str
    tier: str
    status: DatasetStatus
    created: int
    last_update: int
    num_blocks: int
    first_block_id: int
    tape_sites: tuple[int, ...]
    disk: list[tuple[int, int | None, bool]] = field(default_factory=list)
    """(site id, owner group id or None, is partial) per disk copy."""

    @property
    def is_open(self) -> bool:
        return self.status is DatasetStatus.PRODUCTION


class InventoryGenerator:
    """Streams the rows of one synthetic inventory; see the module docstring for the contract."""

    def __init__(self, scale: Scale, *, seed: int = 0, reference_time: int = REFERENCE_TIME):
        self.scale = scale
        self.seed = seed
        self.reference_time = reference_time
        self.sites: list[SiteSpec] = select_sites(scale, self._rng("sites"))
        self.site_ids = {spec.name: i + 1 for i, spec in enumerate(self.sites)}
        self.group_ids = {name: i + 1 for i, name in enumerate(_GROUPS + _GROUPS_EXTRA)}
        self.partition_ids = {p.name: i + 1 for i, p in enumerate(load_partition_definitions())}
        self._plans = self._plan_datasets()
        self._block_size = array("q")
        self._block_files = array("l")
        self._block_time = array("q")
        # Physical bytes per (site id, owner group id or None), filled by the block replicas.
        self.usage: dict[tuple[int, int | None], int] = {}
        self._next = 0

    def _rng(self, purpose: str) -> random.Random:
        return random.Random(f"dynamo-bench:{self.seed}:{purpose}")

    # ------------------------------------------------------------------ public

    @property
    def num_datasets(self) -> int:
        return len(self._plans)

    @property
    def num_blocks(self) -> int:
        return sum(plan.num_blocks for plan in self._plans)

    @property
    def num_dataset_replicas(self) -> int:
        return sum(len(plan.tape_sites) + len(plan.disk) for plan in self._plans)

    @property
    def block_sizes(self) -> array[int]:
        """The size of every block streamed so far, indexed by block id - 1."""
        return self._block_size

    @property
    def num_files(self) -> int:
        """Exact once the blocks were streamed, else the scale's target."""
        return sum(self._block_files) if self._block_files else self.scale.files

    def expected_rows(self, table: str) -> int:
        """The number of rows :meth:`rows` will yield for ``table`` (an estimate where noted:
        block replicas of partial copies are drawn while streaming)."""
        if table == "block_replicas":
            return sum(
                plan.num_blocks * (len(plan.tape_sites) + len(plan.disk)) for plan in self._plans
            )
        counts = {
            "groups": len(self.group_ids),
            "sites": len(self.sites),
            "partitions": len(self.partition_ids),
            "datasets": self.num_datasets,
            "blocks": self.num_blocks,
            "files": self.num_files,
            "dataset_replicas": self.num_dataset_replicas,
            "quotas": len(self.sites) * 3,
        }
        return counts[table]

    def rows(self, table: str) -> Iterator[Row]:
        """The rows of ``table``; tables must be requested in :data:`TABLE_ORDER`."""
        self._advance(table)
        producer = getattr(self, f"_rows_{table}")
        rows: Iterator[Row] = producer()
        return rows

    def skip_files(self) -> None:
        """Pass over the ``files`` table without producing it (``--no-files``); every other
        table comes out exactly as when the files are generated."""
        self._advance("files")

    def _advance(self, table: str) -> None:
        if table not in TABLE_ORDER:
            raise ConfigurationError(f"no generated table {table!r}")
        if TABLE_ORDER.index(table) != self._next:
            raise ConfigurationError(
                f"tables must be generated in order: expected {TABLE_ORDER[self._next]!r}, "
                f"got {table!r}"
            )
        self._next += 1

    def popularity(self) -> Iterator[Row]:
        """Hook for weekly per-dataset access counts (§5.1 popularity): not generated yet."""
        return iter(())

    # ------------------------------------------------------------------ the plan

    def _plan_datasets(self) -> list[_DatasetPlan]:
        scale = self.scale
        rng = self._rng("datasets")
        namer = DatasetNamer(self._rng("names"))
        counts = dist.block_counts(rng, scale.datasets, scale.blocks, scale.largest_dataset_blocks)
        disk_sites = [s for s in self.sites if s.is_disk]
        tape_sites = [s for s in self.sites if not s.is_disk]
        disk_ids = [self.site_ids[s.name] for s in disk_sites]
        disk_weights = [float(s.capacity) for s in disk_sites]
        tape_ids = [self.site_ids[s.name] for s in tape_sites]
        tape_weights = [float(s.capacity) for s in tape_sites]
        owners = [(None if o is None else self.group_ids[o], w) for o, w in dist.OWNER_WEIGHTS]
        plans: list[_DatasetPlan] = []
        next_block = 1
        for num_blocks in counts:
            name = namer.next_name()
            tier = name.rsplit("/", 1)[1]
            status = dist.weighted_choice(rng, dist.STATUS_WEIGHTS)
            if status is DatasetStatus.PRODUCTION:
                created = self.reference_time - int(rng.uniform(1, 90) * DAY)
            else:
                created = self.reference_time - int(_HISTORY * rng.random() ** 1.3) - DAY
            last_update = created + int(rng.random() * min(YEAR, self.reference_time - created))
            copies_on_tape = 2 if tier == "RAW" and len(tape_ids) > 1 else 1
            tapes = _distinct(rng, tape_ids, tape_weights, copies_on_tape)
            copies = min(dist.disk_copies(rng, tier), len(disk_ids))
            disk = [
                (site, dist.weighted_choice(rng, owners), num_blocks > 1 and rng.random() < 0.1)
                for site in _distinct(rng, disk_ids, disk_weights, copies)
            ]
            plans.append(
                _DatasetPlan(
                    name, tier, status, created, last_update, num_blocks, next_block, tapes, disk
                )
            )
            next_block += num_blocks
        return plans

    # ------------------------------------------------------------------ small tables

    def _rows_groups(self) -> Iterator[Row]:
        for name, group_id in self.group_ids.items():
            yield (group_id, name, int(GroupLevel.BLOCK))

    def _rows_sites(self) -> Iterator[Row]:
        for spec in self.sites:
            status = SiteStatus.READY
            yield (self.site_ids[spec.name], spec.name, "", int(spec.storage_type), "", int(status))

    def _rows_partitions(self) -> Iterator[Row]:
        for definition in load_partition_definitions():
            subs = None
            if definition.subpartitions:
                subs = "[" + ", ".join(f'"{s}"' for s in definition.subpartitions) + "]"
            yield (
                self.partition_ids[definition.name],
                definition.name,
                definition.condition_text,
                subs,
            )

    # ------------------------------------------------------------------ datasets and blocks

    def _rows_datasets(self) -> Iterator[Row]:
        rng = self._rng("dataset-rows")
        for dataset_id, plan in enumerate(self._plans, start=1):
            data_type = DataType.DATA if dist.is_data_tier(plan.tier) else DataType.MC
            if plan.tier == "RAW":
                data_type = DataType.RAW
            yield (
                dataset_id,
                plan.name,
                int(plan.status),
                int(data_type),
                _software_version(rng, plan.name),
                plan.last_update,
                plan.is_open,
            )

    def _rows_blocks(self) -> Iterator[Row]:
        rng = self._rng("blocks")
        mean_files = self.scale.files / self.scale.blocks
        sizes, nfiles, times = self._block_size, self._block_files, self._block_time
        for dataset_id, plan in enumerate(self._plans, start=1):
            span = max(1, plan.last_update - plan.created)
            for k in range(plan.num_blocks):
                block_id = plan.first_block_id + k
                num_files = dist.files_in_block(rng, mean_files)
                size = dist.block_size(rng, plan.tier, num_files)
                is_open = plan.is_open and k == plan.num_blocks - 1
                updated = plan.created + (span * (k + 1)) // plan.num_blocks
                sizes.append(size)
                nfiles.append(num_files)
                times.append(updated)
                yield (block_id, dataset_id, block_uuid(rng), size, num_files, is_open, updated)

    def _rows_files(self) -> Iterator[Row]:
        rng = self._rng("files")
        sizes, nfiles = self._block_size, self._block_files
        file_id = 0
        for plan in self._plans:
            prefix = lfn_prefix(plan.name)
            for k in range(plan.num_blocks):
                index = plan.first_block_id + k - 1
                counter = f"{(k % 99 + 1) * 10000:05d}"
                directory = f"{prefix}/{counter}/"
                for size in dist.split_size(rng, sizes[index], nfiles[index]):
                    file_id += 1
                    yield (
                        file_id,
                        index + 1,
                        f"{directory}{file_uuid(rng)}.root",
                        size,
                        f"{rng.getrandbits(32):08x}",
                    )

    # ------------------------------------------------------------------ replicas and quotas

    def _rows_dataset_replicas(self) -> Iterator[Row]:
        data_ops = self.group_ids["DataOps"]
        for dataset_id, plan in enumerate(self._plans, start=1):
            for site in plan.tape_sites:
                yield (dataset_id, site, data_ops, True)
            for site, owner, partial in plan.disk:
                yield (dataset_id, site, owner, not partial)

    def _rows_block_replicas(self) -> Iterator[Row]:
        rng = self._rng("block-replicas")
        data_ops = self.group_ids["DataOps"]
        sizes, nfiles, times = self._block_size, self._block_files, self._block_time
        usage = self.usage
        ref = self.reference_time
        for plan in self._plans:
            first = plan.first_block_id
            blocks = range(first, first + plan.num_blocks)
            for site in plan.tape_sites:
                total = 0
                for block_id in blocks:
                    i = block_id - 1
                    total += sizes[i]
                    delay = int(rng.expovariate(1 / (3 * DAY)))
                    yield (block_id, site, data_ops, True, None, None, min(ref, times[i] + delay))
                usage[(site, data_ops)] = usage.get((site, data_ops), 0) + total
            for site, owner, partial in plan.disk:
                chosen: range | list[int] = blocks
                if partial:
                    keep = rng.uniform(0.2, 0.8)
                    chosen = [b for b in blocks if rng.random() < keep] or [first]
                total = 0
                for block_id in chosen:
                    i = block_id - 1
                    size: int | None = None
                    num_files: int | None = None
                    present = sizes[i]
                    if nfiles[i] > 1 and rng.random() < 0.01:  # a transfer still in progress
                        num_files = max(1, int(nfiles[i] * rng.uniform(0.1, 0.9)))
                        size = present = sizes[i] * num_files // nfiles[i]
                    total += present
                    delay = int(rng.expovariate(1 / (10 * DAY)))
                    updated = min(ref, times[i] + delay)
                    yield (block_id, site, owner, False, size, num_files, updated)
                usage[(site, owner)] = usage.get((site, owner), 0) + total

    def _rows_quotas(self) -> Iterator[Row]:
        """Quotas from the usage: ~20 % of disk sites end above 0.90 of their Physics quota
        (AnalysisOps + DataOpsDisk), some of those at 0.95-1.1; tape at 0.4-0.8."""
        rng = self._rng("quotas")
        groups, parts = self.group_ids, self.partition_ids
        disk = [s for s in self.sites if s.is_disk]
        full = max(1, round(0.2 * len(disk))) if disk else 0
        above = {s.name for s in rng.sample(disk, full)}
        for spec in self.sites:
            site = self.site_ids[spec.name]
            if spec.storage_type is StorageType.MSS:
                used = sum(u for (s, _), u in self.usage.items() if s == site)
                quota = int(used / rng.uniform(0.4, 0.8)) if used else spec.capacity
                yield (site, parts["PhysicsTape"], quota)
                continue
            if spec.name in above:
                target = rng.uniform(0.905, 0.95) if rng.random() < 0.5 else rng.uniform(0.95, 1.1)
            else:
                target = rng.uniform(0.45, 0.88)
            ao = self.usage.get((site, groups["AnalysisOps"]), 0)
            do = self.usage.get((site, groups["DataOps"]), 0)
            if ao + do == 0:
                ao_quota, do_quota = spec.capacity * 6 // 10, spec.capacity * 4 // 10
            else:
                ao_quota, do_quota = round(ao / target), round(do / target)
            yield (site, parts["AnalysisOps"], ao_quota)
            yield (site, parts["DataOpsDisk"], do_quota)
            relval = self.usage.get((site, groups["RelVal"]), 0)
            if relval:
                yield (site, parts["RelVal"], round(relval / rng.uniform(0.5, 0.85)))


def _distinct(
    rng: random.Random, ids: list[int], weights: list[float], count: int
) -> tuple[int, ...]:
    """``count`` distinct ids drawn with the given weights (all of them if fewer exist)."""
    if count >= len(ids):
        return tuple(ids)
    chosen: list[int] = []
    while len(chosen) < count:
        pick = rng.choices(ids, weights)[0]
        if pick not in chosen:
            chosen.append(pick)
    return tuple(chosen)


def _software_version(rng: random.Random, name: str) -> str | None:
    """``cycle.major.minor.suffix`` from the release series in the processed name (``_80X_``)."""
    found = _VERSION.search(name)
    if found is None:
        return None
    digits = found.group(1)
    suffix = f"patch{rng.randint(1, 4)}" if rng.random() < 0.3 else ""
    return f"{int(digits[:-1])}.{digits[-1]}.{rng.randint(0, 30)}.{suffix}"
