"""The UserData partition's health and the usage of each user at each site (pure reads).

A site's share is healthy below ``warn_at`` of its quota, ``warn`` from there and ``alarm``
from ``alarm_at``. The partition as a whole is judged on its *unique* data (every user file
counted once, wherever and however often it is held) against the sum of the sites' quotas, as
the concept asks; a site's own level is its physical occupancy of its quota.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from dynamo.model import Inventory
from dynamo.userdata.errors import UserDataNameError
from dynamo.userdata.naming import parse_dataset
from dynamo.userdata.options import UserDataOptions

__all__ = [
    "HealthLevel",
    "PartitionHealth",
    "SiteHealth",
    "UserUsage",
    "partition_health",
    "site_level",
    "usage",
]


class HealthLevel(StrEnum):
    OK = "ok"
    WARN = "warn"
    ALARM = "alarm"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteHealth:
    site: str
    quota: int
    used: int
    occupancy: float
    level: HealthLevel


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionHealth:
    partition: str
    quota: int
    unique_bytes: int
    occupancy: float
    level: HealthLevel
    warn_at: float
    alarm_at: float
    sites: tuple[SiteHealth, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserUsage:
    """Bytes and files of ``user``'s datasets present at ``site``."""

    user: str
    site: str
    bytes: int
    files: int


def _level(occupancy: float, options: UserDataOptions) -> HealthLevel:
    if occupancy >= options.alarm_at:
        return HealthLevel.ALARM
    if occupancy >= options.warn_at:
        return HealthLevel.WARN
    return HealthLevel.OK


def _owner(name: str) -> str | None:
    try:
        return parse_dataset(name).owner
    except UserDataNameError:
        return None


def site_level(inventory: Inventory, site: str, options: UserDataOptions) -> HealthLevel:
    """The level of ``site``'s share of the UserData partition (ok when it has none)."""
    found = inventory.sites.get(site)
    partition = inventory.partitions.get(options.partition)
    share = found.partitions.get(partition) if found is not None and partition else None
    if share is None or share.quota == 0:
        return HealthLevel.OK
    return _level(share.occupancy(), options)


def partition_health(
    inventory: Inventory, options: UserDataOptions, datasets: Iterable[str]
) -> PartitionHealth:
    """The health of the UserData partition (quota 0 everywhere when it is not defined);
    ``datasets`` names the user datasets, whose sizes are the unique data."""
    partition = inventory.partitions.get(options.partition)
    sites: list[SiteHealth] = []
    total_quota = 0
    for name in sorted(inventory.sites):
        share = inventory.sites[name].partitions.get(partition) if partition else None
        if share is None or share.quota == 0:
            continue
        quota = share.effective_quota()
        occupancy = share.occupancy()
        total_quota = -1 if quota < 0 or total_quota < 0 else total_quota + quota
        sites.append(
            SiteHealth(
                site=name,
                quota=quota,
                used=share.physical_bytes,
                occupancy=occupancy,
                level=_level(occupancy, options),
            )
        )
    found = (inventory.datasets.get(name) for name in datasets)
    unique = sum(d.size for d in found if d is not None)
    if total_quota < 0:
        occupancy = 0.0
    elif total_quota == 0:
        occupancy = float("inf") if unique else 0.0
    else:
        occupancy = unique / total_quota
    return PartitionHealth(
        partition=options.partition,
        quota=total_quota,
        unique_bytes=unique,
        occupancy=occupancy,
        level=_level(occupancy, options),
        warn_at=options.warn_at,
        alarm_at=options.alarm_at,
        sites=tuple(sites),
    )


def usage(inventory: Inventory, *, user: str | None = None) -> list[UserUsage]:
    """Per user and site: the bytes and files of their datasets present there."""
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for dataset in inventory.datasets.values():
        owner = _owner(dataset.name)
        if owner is None or (user is not None and owner != user):
            continue
        for site, replica in dataset.replicas.items():
            for block_replica in replica.block_replicas.values():
                entry = totals[(owner, site.name)]
                entry[0] += block_replica.size
                entry[1] += block_replica.num_files
    return [
        UserUsage(user=u, site=s, bytes=b, files=f) for (u, s), (b, f) in sorted(totals.items())
    ]
