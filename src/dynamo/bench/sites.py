"""The storage nodes of a synthetic inventory: real CMS PhEDEx names and nominal capacities."""

from __future__ import annotations

import random
from dataclasses import dataclass

from dynamo.bench.catalog import load_phedex_node_names
from dynamo.bench.scales import Scale
from dynamo.errors import ConfigurationError
from dynamo.model.enums import StorageType

__all__ = ["PB", "SiteSpec", "real_t2_names", "select_sites"]

PB = 10**15

# Preference order of the seven real T1 centres when a scale uses fewer of them.
_T1_ORDER = ("US_FNAL", "DE_KIT", "IT_CNAF", "FR_CCIN2P3", "UK_RAL", "ES_PIC", "RU_JINR")
# Entries of the CRIC extract that are not data-holding T2 nodes.
_NOT_DATA_T2 = ("T2_XX_", "T2_CH_CERNBOX")


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A node to create: its real name, storage type, tier and nominal capacity in bytes.

    The capacity only weights where replicas go; quotas are set afterwards from the usage.
    """

    name: str
    storage_type: StorageType
    tier: int
    capacity: int

    @property
    def is_disk(self) -> bool:
        return self.storage_type is StorageType.DISK


def real_t2_names() -> tuple[str, ...]:
    """The 54 real CMS T2 disk nodes of the CRIC extract, sorted."""
    return tuple(
        name
        for name in load_phedex_node_names()
        if name.startswith("T2_") and not name.startswith(_NOT_DATA_T2)
    )


def select_sites(scale: Scale, rng: random.Random) -> list[SiteSpec]:
    """The nodes of ``scale``: T0, then T1 disk and tape pairs, then T2s (a seeded subset).

    Capacities follow performance.md §5.1: T2 lognormal with median 1 PB clipped to
    0.2-5 PB, T1 disk 3-12 PB, tape 20-60 PB.
    """
    t1_disk = {name[3:-5]: name for name in load_phedex_node_names() if name.startswith("T1_")}
    if scale.t1_sites > len(_T1_ORDER):
        raise ConfigurationError(f"at most {len(_T1_ORDER)} T1 sites exist, not {scale.t1_sites}")
    t2_all = real_t2_names()
    if scale.t2_sites > len(t2_all):
        raise ConfigurationError(f"at most {len(t2_all)} T2 sites exist, not {scale.t2_sites}")
    sites: list[SiteSpec] = []
    if scale.with_t0:
        sites.append(SiteSpec("T0_CH_CERN_Disk", StorageType.DISK, 0, 8 * PB))
        sites.append(SiteSpec("T0_CH_CERN_MSS", StorageType.MSS, 0, 60 * PB))
    for centre in _T1_ORDER[: scale.t1_sites]:
        disk_capacity = int(rng.uniform(3, 12) * PB)
        sites.append(SiteSpec(t1_disk[centre], StorageType.DISK, 1, disk_capacity))
        sites.append(
            SiteSpec(f"T1_{centre}_MSS", StorageType.MSS, 1, int(rng.uniform(20, 60) * PB))
        )
    if scale.with_ral_echo:
        sites.append(
            SiteSpec("T1_UK_RAL_ECHO_MSS", StorageType.MSS, 1, int(rng.uniform(20, 60) * PB))
        )
    for name in sorted(rng.sample(t2_all, scale.t2_sites)):
        capacity = min(5.0, max(0.2, rng.lognormvariate(0.0, 0.7)))
        sites.append(SiteSpec(name, StorageType.DISK, 2, int(capacity * PB)))
    return sites
