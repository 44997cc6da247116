"""What the pages show, computed from the inventory image and the history: plain data, no HTML.

Every function here is pure over its arguments (the image, rows already read), so the pages'
content is tested without a browser; the templates only lay it out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dynamo.model import Inventory, Partition, Site, SitePartition
from dynamo.store import CycleSite, SiteHistoryPoint

__all__ = [
    "PartitionUsage",
    "SiteRow",
    "chart_series",
    "cycle_totals",
    "default_partition",
    "human_bytes",
    "percent",
    "site_rows",
]

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def human_bytes(size: int | float | None) -> str:
    """``1.23 TB`` style (powers of 1000, as CMS quotes quotas)."""
    if size is None:
        return "-"
    value = float(size)
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit in _UNITS:
        if value < 1000 or unit == _UNITS[-1]:
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def percent(fraction: float | None) -> str:
    """``87.3 %``; None (no quota in use) and infinity read as ``-`` and ``inf``."""
    if fraction is None:
        return "-"
    if math.isinf(fraction):
        return "inf"
    return f"{100 * fraction:.1f} %"


@dataclass(frozen=True, slots=True)
class PartitionUsage:
    """A site's share of one partition."""

    partition: str
    quota_bytes: int
    used_bytes: int
    projected_bytes: int
    occupancy: float | None

    @property
    def bar_percent(self) -> float:
        """Width of the usage bar, capped at 100."""
        if self.occupancy is None or math.isinf(self.occupancy):
            return 100.0
        return min(100.0, 100 * self.occupancy)


@dataclass(frozen=True, slots=True)
class SiteRow:
    """One line of the sites table."""

    name: str
    storage_type: str
    status: str
    num_dataset_replicas: int
    usage: PartitionUsage | None


def default_partition(inventory: Inventory) -> str | None:
    """The partition the sites page opens on: Physics if defined, else the first one."""
    names = [p.name for p in inventory.partitions]
    if "Physics" in names:
        return "Physics"
    return names[0] if names else None


def _usage(share: SitePartition | None, partition: Partition) -> PartitionUsage | None:
    if share is None:
        return None
    quota = share.effective_quota()
    occupancy = share.occupancy(physical=True)
    return PartitionUsage(
        partition=partition.name,
        quota_bytes=quota,
        used_bytes=share.physical_bytes,
        projected_bytes=share.projected_bytes,
        occupancy=None if quota < 0 else occupancy,
    )


def site_rows(inventory: Inventory, partition_name: str | None) -> list[SiteRow]:
    """Every site with its usage of ``partition_name`` (None: no usage column), by name."""
    partition = _find_partition(inventory, partition_name)
    rows = []
    for site in sorted(inventory.sites.values(), key=lambda s: s.name):
        usage = None
        if partition is not None:
            usage = _usage(site.partitions.get(partition), partition)
        rows.append(
            SiteRow(
                name=site.name,
                storage_type=site.storage_type.name,
                status=site.status.name,
                num_dataset_replicas=len(site.dataset_replicas),
                usage=usage,
            )
        )
    return rows


def site_usages(site: Site) -> list[PartitionUsage]:
    """The site's share of every partition it has a quota or data in, by partition name."""
    found = []
    for partition, share in site.partitions.items():
        usage = _usage(share, partition)
        if usage is not None and (usage.quota_bytes != 0 or usage.used_bytes):
            found.append(usage)
    return sorted(found, key=lambda usage: usage.partition)


def _find_partition(inventory: Inventory, name: str | None) -> Partition | None:
    if name is None:
        return None
    for partition in inventory.partitions:
        if partition.name == name:
            return partition
    return None


def chart_series(points: Sequence[SiteHistoryPoint]) -> dict[str, Any]:
    """uPlot's columns for a site's occupancy over Detox cycles: time (s), before, after (in
    percent; a gap where the occupancy is infinite)."""

    def pct(value: float | None) -> float | None:
        return None if value is None else round(100 * value, 2)

    return {
        "t": [point.started for point in points],
        "before": [pct(point.occupancy_before) for point in points],
        "after": [pct(point.occupancy_after) for point in points],
        "cycles": [point.cycle_id for point in points],
    }


def cycle_totals(sites: Iterable[CycleSite]) -> dict[str, int]:
    """Bytes protected, kept and deleted over a cycle's sites, and how many were triggered."""
    totals = {"protected": 0, "kept": 0, "deleted": 0, "triggered": 0, "sites": 0}
    for site in sites:
        totals["protected"] += site.protected_bytes
        totals["kept"] += site.kept_bytes
        totals["deleted"] += site.deleted_bytes
        totals["triggered"] += int(site.triggered)
        totals["sites"] += 1
    return totals
