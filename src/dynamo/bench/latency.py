"""Latency percentiles of benchmark runs (nearest rank), in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["percentile_ms", "quantiles_ms"]


def percentile_ms(ordered: Sequence[float], pct: int) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, -(-len(ordered) * pct // 100) - 1))
    return round(ordered[rank] * 1000, 2)


def quantiles_ms(ordered: Sequence[float]) -> list[float]:
    """The latency distribution for a plot: percentiles 0 (the minimum), 1, ..., 100."""
    if not ordered:
        return []
    return [round(ordered[0] * 1000, 2)] + [percentile_ms(ordered, p) for p in range(1, 101)]
