"""The random distributions of the synthetic inventory (performance.md §5.1), all seeded.

Every function takes the ``random.Random`` to draw from, so one seed gives one inventory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TypeVar

from dynamo.model.enums import DatasetStatus

__all__ = [
    "DATA_TIERS",
    "OWNER_WEIGHTS",
    "STATUS_WEIGHTS",
    "block_counts",
    "block_size",
    "disk_copies",
    "file_size_median",
    "files_in_block",
    "is_data_tier",
    "split_size",
    "weighted_choice",
]

T = TypeVar("T")

GB = 10**9

DATA_TIERS = frozenset(
    {"RAW", "RECO", "AOD", "MINIAOD", "NANOAOD", "ALCARECO", "USER", "RAW-RECO", "DQM", "DQMIO"}
)
"""Tiers of detector data (``/store/data``); every other tier is simulation (``/store/mc``)."""

# Median file size per tier (bytes): RAW/RECO 4-6 GB, AOD(SIM) 3 GB, MINIAOD 2-3 GB, NANOAOD <1 GB.
_MEDIANS = {
    "RAW": 4.5,
    "RECO": 5.0,
    "RAW-RECO": 5.0,
    "AOD": 3.0,
    "AODSIM": 3.0,
    "MINIAOD": 2.5,
    "MINIAODSIM": 2.5,
    "NANOAOD": 0.8,
    "NANOAODSIM": 0.8,
    "GEN-SIM": 1.5,
    "GEN-SIM-RAW": 4.0,
    "GEN-SIM-DIGI-RAW": 4.0,
    "GEN-SIM-RECO": 4.5,
    "GEN-SIM-RECODEBUG": 5.0,
    "GEN-SIM-RAW-RECO": 5.0,
    "ALCARECO": 1.0,
    "LHE": 0.5,
    "USER": 1.5,
    "DQMIO": 0.2,
}
_SIZE_SIGMA = 0.6

OWNER_WEIGHTS: tuple[tuple[str | None, float], ...] = (
    ("AnalysisOps", 0.55),
    ("DataOps", 0.30),
    ("RelVal", 0.05),
    ("local", 0.03),
    ("caf-comm", 0.02),
    ("caf-alca", 0.02),
    ("IB RelVal", 0.01),
    (None, 0.02),
)
"""Owners of disk dataset replicas: AnalysisOps 55 %, DataOps 30 %, RelVal 5 %, others 10 %."""

# Disk copies of a dataset that has any: mean 2.85, so 60 % x 2.85 = 1.7 per dataset overall.
_COPIES = (1, 2, 3, 4, 5, 6)
_COPY_WEIGHTS = (0.20, 0.25, 0.25, 0.15, 0.10, 0.05)

STATUS_WEIGHTS: tuple[tuple[DatasetStatus, float], ...] = (
    (DatasetStatus.VALID, 0.90),
    (DatasetStatus.PRODUCTION, 0.04),
    (DatasetStatus.DEPRECATED, 0.04),
    (DatasetStatus.INVALID, 0.02),
)


def is_data_tier(tier: str) -> bool:
    return tier in DATA_TIERS


def file_size_median(tier: str) -> float:
    """Median file size in bytes for ``tier`` (2 GB for a tier not listed)."""
    return _MEDIANS.get(tier, 2.0) * GB


def block_size(rng: random.Random, tier: str, num_files: int) -> int:
    """The size of a block of ``num_files`` lognormal files: their expected sum, with the
    relative spread of such a sum (sigma shrinking as 1/sqrt(n))."""
    mean = file_size_median(tier) * math.exp(_SIZE_SIGMA**2 / 2)
    sigma = _SIZE_SIGMA / math.sqrt(num_files)
    return max(num_files, int(num_files * mean * rng.lognormvariate(-(sigma**2) / 2, sigma)))


def split_size(rng: random.Random, total: int, count: int) -> list[int]:
    """Split ``total`` bytes into ``count`` lognormal-shaped positive parts summing exactly."""
    weights = [rng.lognormvariate(0.0, _SIZE_SIGMA) for _ in range(count)]
    scale = total / sum(weights)
    parts = [max(1, int(w * scale)) for w in weights]
    parts[-1] += total - sum(parts)
    if parts[-1] < 1:  # rounding pushed the remainder negative: spread it evenly instead
        base, extra = divmod(total, count)
        parts = [base + (i < extra) for i in range(count)]
    return parts


def block_counts(rng: random.Random, datasets: int, blocks: int, largest: int) -> list[int]:
    """Blocks per dataset: heavy-tailed (lognormal, sigma 1.8), summing to ``blocks`` exactly,
    at least 1 each, and one dataset of ``largest`` blocks (a premix-like container)."""
    largest = max(1, min(largest, blocks - datasets + 1))
    raw = [rng.lognormvariate(0.0, 1.8) for _ in range(datasets)]
    big = max(range(datasets), key=raw.__getitem__)
    rest = blocks - largest - (datasets - 1)  # blocks to spread beyond one per dataset
    weight = sum(raw) - raw[big]
    counts = [1 + int(rest * r / weight) if weight > 0 else 1 for r in raw]
    counts[big] = largest
    counts = [min(c, largest) for c in counts]
    deficit = blocks - sum(counts)
    order = sorted(range(datasets), key=raw.__getitem__, reverse=True)
    while deficit != 0:
        progressed = False
        for index in order:
            step = 1 if deficit > 0 else -1
            if index != big and 1 <= counts[index] + step <= largest:
                counts[index] += step
                deficit -= step
                progressed = True
                if deficit == 0:
                    break
        if not progressed:  # every dataset is at a bound: the targets cannot be met exactly
            break
    return counts


def files_in_block(rng: random.Random, mean: float) -> int:
    """Files in one block: lognormal with the given mean (sigma 1.0), at least 1."""
    return max(1, round(rng.lognormvariate(math.log(mean) - 0.5, 1.0)))


def disk_copies(rng: random.Random, tier: str) -> int:
    """Disk copies of a dataset: 0 for 40 % (RAW: 80 %), else 1-6 with mean 2.85 (RAW: 1)."""
    if tier == "RAW":
        return 1 if rng.random() < 0.2 else 0
    if rng.random() >= 0.6:
        return 0
    return rng.choices(_COPIES, _COPY_WEIGHTS)[0]


def weighted_choice(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    """One item of ``(item, weight)`` pairs."""
    return rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]
