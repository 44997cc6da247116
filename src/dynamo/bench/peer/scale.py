"""The synthetic inventory both systems are loaded with (rucio-bench.md "Scale S").

:func:`peer_inventory` expands a :class:`PeerScale` into one :class:`PeerInventory`:
RSEs/sites, datasets of ``files_per_dataset`` files with seeded lognormal sizes (median
2.5 GB, sigma 0.5) and adler32s, and two replicas per dataset, every 10th at the deletion
site. The same object is written to JSON for the Rucio scripts and read by the Dynamo side,
so the two systems get the same datasets, files, sizes and placements; only the spelling of
names differs (Rucio's generic schema allows no ``/`` in names, Dynamo's wants CMS names).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError

__all__ = [
    "PEER_SCALES",
    "PeerDataset",
    "PeerFile",
    "PeerInventory",
    "PeerScale",
    "peer_inventory",
    "peer_scale_named",
]

MEDIAN_BYTES = 2_500_000_000
SIGMA = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class PeerScale:
    """How much data the peer benchmark loads and how much work each task gets.

    ``rules`` is N of task 4 (datasets given one more copy); ``sample_datasets`` is the part
    of the inventory whose registration task 1 times (half first, into the empty databases, half
    last, into the loaded ones; Rucio gets the rest by an untimed bulk load); ``deletion_site``
    is the T2 index of the deletion-test site (every 10th dataset has a replica there).
    """

    name: str
    t1_sites: int
    t2_sites: int
    datasets: int
    files_per_dataset: int = 20
    rules: int
    list_requests: int
    sample_datasets: int
    deletion_site: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        if self.t2_sites < 4 or not 1 <= self.deletion_site <= self.t2_sites:
            raise ConfigurationError(f"peer scale {self.name!r}: need >= 4 T2 sites")
        if self.datasets < 10 or self.rules > self.datasets:
            raise ConfigurationError(f"peer scale {self.name!r}: need 10 <= rules <= datasets")
        if not 2 <= self.sample_datasets <= self.datasets:
            raise ConfigurationError(f"peer scale {self.name!r}: need 2 <= sample <= datasets")

    @property
    def files(self) -> int:
        return self.datasets * self.files_per_dataset

    def with_datasets(self, datasets: int) -> PeerScale:
        """The same scale with fewer (or more) datasets; rules scaled down to fit."""
        return PeerScale(
            name=f"{self.name}-{datasets}",
            t1_sites=self.t1_sites,
            t2_sites=self.t2_sites,
            datasets=datasets,
            files_per_dataset=self.files_per_dataset,
            rules=min(self.rules, datasets // 2),
            list_requests=self.list_requests,
            sample_datasets=min(self.sample_datasets, max(2, datasets // 2)),
            deletion_site=self.deletion_site,
            seed=self.seed,
        )


PEER_SCALES: dict[str, PeerScale] = {
    "xs": PeerScale(
        name="xs",
        t1_sites=2,
        t2_sites=10,
        datasets=100,
        rules=20,
        list_requests=100,
        sample_datasets=40,
    ),
    "s": PeerScale(
        name="s",
        t1_sites=8,
        t2_sites=32,
        datasets=10_000,
        rules=1_000,
        list_requests=500,
        sample_datasets=1_000,
    ),
    "m": PeerScale(
        name="m",
        t1_sites=8,
        t2_sites=32,
        datasets=50_000,
        rules=5_000,
        list_requests=1_000,
        sample_datasets=1_000,
    ),
}
"""xs for CI; s is rucio-bench.md's scale S (40 RSEs, 10k datasets, 200k files, 400k
replicas), whose registration is timed on 20,000 files (1,000 datasets); m is 5x S."""


def peer_scale_named(name: str) -> PeerScale:
    try:
        return PEER_SCALES[name.lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown peer scale {name!r} (choose from {', '.join(PEER_SCALES)})"
        ) from None


@dataclass(frozen=True, slots=True)
class PeerFile:
    size: int
    adler32: str


@dataclass(frozen=True, slots=True)
class PeerDataset:
    index: int
    files: tuple[PeerFile, ...]
    sites: tuple[str, ...]

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True, slots=True)
class PeerInventory:
    """Sites (``T1_Cxx_DISK`` tier 1, ``T2_Cxx_SITE`` tier 2) and datasets with replicas."""

    scale: PeerScale
    sites: tuple[str, ...]
    datasets: tuple[PeerDataset, ...]

    @property
    def deletion_site(self) -> str:
        return t2_name(self.scale.deletion_site)

    @property
    def t2_sites(self) -> tuple[str, ...]:
        return tuple(s for s in self.sites if s.startswith("T2_"))

    def new_copy_targets(self, dataset: PeerDataset) -> tuple[str, ...]:
        """Task 4's candidate sites for a new copy: every T2 without the dataset."""
        return tuple(s for s in self.t2_sites if s not in dataset.sites)

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale.name,
            "sites": [{"name": s, "tier": 1 if s.startswith("T1_") else 2} for s in self.sites],
            "deletion_site": self.deletion_site,
            "rules": self.scale.rules,
            "datasets": [
                {
                    "index": d.index,
                    "sites": list(d.sites),
                    "files": [[f.size, f.adler32] for f in d.files],
                }
                for d in self.datasets
            ],
        }

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")))
        return path


def t1_name(index: int) -> str:
    return f"T1_C{index:02d}_DISK"


def t2_name(index: int) -> str:
    return f"T2_C{index:02d}_SITE"


def peer_inventory(scale: PeerScale) -> PeerInventory:
    """The deterministic inventory of ``scale`` (same seed, same inventory)."""
    rng = random.Random(scale.seed)
    t1 = [t1_name(i) for i in range(1, scale.t1_sites + 1)]
    t2 = [t2_name(i) for i in range(1, scale.t2_sites + 1)]
    deletion = t2_name(scale.deletion_site)
    others = [s for s in t1 + t2 if s != deletion]
    mu = math.log(MEDIAN_BYTES)
    datasets = []
    for index in range(scale.datasets):
        files = tuple(
            PeerFile(int(rng.lognormvariate(mu, SIGMA)), f"{rng.getrandbits(32):08x}")
            for _ in range(scale.files_per_dataset)
        )
        if index % 10 == 0:
            sites = (deletion, rng.choice(others))
        else:
            first, second = rng.sample(others, 2)
            sites = (first, second)
        datasets.append(PeerDataset(index, files, sites))
    return PeerInventory(scale, tuple(t1 + t2), tuple(datasets))
