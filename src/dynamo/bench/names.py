"""Realistic, unique CMS names: datasets, block names and LFNs.

Dataset names are ``/Primary/Processed/TIER``. The first ones are real names (a seeded
permutation of the packaged 5,131); after those, a name recombines a real primary name with a
real ``(processed name, tier)`` pair of the same kind (detector data or simulation), so every
part of every name is real and only the combination is new. LFNs follow
``/store/<mc|data>/<AcquisitionEra>/<Primary>/<TIER>/<ProcessingString-vN>/<counter>/<UUID>.root``.
"""

from __future__ import annotations

import math
import random
from collections import Counter

from dynamo.bench.catalog import load_dataset_names
from dynamo.bench.distributions import is_data_tier
from dynamo.errors import ConfigurationError

__all__ = ["DatasetNamer", "block_uuid", "file_uuid", "lfn_prefix", "split_dataset_name"]


def split_dataset_name(name: str) -> tuple[str, str, str]:
    """``/Primary/Processed/TIER`` -> ``(primary, processed, tier)``."""
    _, primary, processed, tier = name.split("/")
    return primary, processed, tier


def lfn_prefix(dataset: str) -> str:
    """The LFN directory of a dataset's files, up to the counter directory (exclusive).

    ``/P/Era-Proc-v1/TIER`` -> ``/store/<mc|data>/Era/P/TIER/Proc-v1``.
    """
    primary, processed, tier = split_dataset_name(dataset)
    era, _, rest = processed.partition("-")
    area = "data" if is_data_tier(tier) else "mc"
    return f"/store/{area}/{era}/{primary}/{tier}/{rest or 'v1'}"


def block_uuid(rng: random.Random) -> str:
    """A random canonical (lower-case) UUID, as in real block names ``dataset#uuid``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def file_uuid(rng: random.Random) -> str:
    """A random upper-case UUID, as in real LFN file names."""
    h = f"{rng.getrandbits(128):032X}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class DatasetNamer:
    """Hands out unique dataset names: real ones first, then real parts recombined.

    Tiers of derived names are drawn with weight sqrt(frequency in the real corpus), which keeps
    the corpus's MINIAODSIM majority but gives the rarer tiers (RAW, RECO, GEN-SIM, ...) a
    realistic share.
    """

    def __init__(self, rng: random.Random, real_names: tuple[str, ...] | None = None) -> None:
        self._rng = rng
        names = list(real_names if real_names is not None else load_dataset_names())
        rng.shuffle(names)
        self._real = names
        self._next_real = 0
        self._used: set[str] = set()
        pairs: dict[str, set[str]] = {}
        primaries: dict[bool, set[str]] = {True: set(), False: set()}
        tiers: Counter[str] = Counter()
        for name in names:
            primary, processed, tier = split_dataset_name(name)
            pairs.setdefault(tier, set()).add(processed)
            primaries[is_data_tier(tier)].add(primary)
            tiers[tier] += 1
        self._processed = {tier: sorted(found) for tier, found in pairs.items()}
        self._primaries = {kind: sorted(found) for kind, found in primaries.items()}
        self._tiers = sorted(tiers)
        self._tier_weights = [math.sqrt(tiers[t]) for t in self._tiers]

    def next_name(self) -> str:
        """A dataset name not handed out before (ConfigurationError if none can be found)."""
        while self._next_real < len(self._real):
            name = self._real[self._next_real]
            self._next_real += 1
            if name not in self._used:
                self._used.add(name)
                return name
        rng = self._rng
        for _ in range(1000):
            tier = rng.choices(self._tiers, self._tier_weights)[0]
            primaries = self._primaries[is_data_tier(tier)]
            if not primaries:
                continue
            processed = rng.choice(self._processed[tier])
            if rng.random() < 0.3:  # a later processing version of the same campaign
                processed = _with_version(processed, rng.choice((2, 3, 4)))
            name = f"/{rng.choice(primaries)}/{processed}/{tier}"
            if name not in self._used:
                self._used.add(name)
                return name
        raise ConfigurationError("cannot derive more unique dataset names from the name corpus")


def _with_version(processed: str, version: int) -> str:
    base, dash, suffix = processed.rpartition("-v")
    if dash and suffix.isdigit():
        return f"{base}-v{version}"
    return processed
