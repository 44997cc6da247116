"""The options of a Dealer cycle: target sites, limits and the reliability weighting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from dynamo.policy import compile_target_sites

__all__ = ["TB", "DealerOptions"]

TB: Final = 10**12


@dataclass(frozen=True, slots=True, kw_only=True)
class DealerOptions:
    """How a cycle places copies.

    - ``partition``: the partition whose quota and occupancy count; ``group``: the owner of
      new replicas when a proposal names none;
    - ``target_sites``: fnmatch patterns in order, ``!pattern`` vetoes, the last match wins;
    - ``target_occupancy``: no site's projected occupancy goes past this fraction of its quota;
    - ``max_pending_fraction``: projected minus physical bytes (what is still to arrive) stays
      under this fraction of the quota;
    - ``max_cycle_volume``: bytes a cycle may place in all;
    - ``min_reliability``: sites with a lower transfer success rate receive nothing;
    - ``seed``: every random choice of the cycle derives from it.
    """

    partition: str = "Physics"
    group: str = "AnalysisOps"
    target_sites: tuple[str, ...] = ("*",)
    target_occupancy: float = 0.85
    max_pending_fraction: float = 0.1
    max_cycle_volume: int = 200 * TB
    min_reliability: float = 0.0
    seed: int = 0
    _is_target: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_is_target", compile_target_sites(list(self.target_sites)))

    def is_target_name(self, site: str) -> bool:
        """Whether ``site`` matches the target-site patterns."""
        return self._is_target(site)
