"""One compared figure: Dynamo's number, Rucio's number, and which way is better.

``advantage`` > 1 means Dynamo is better by that factor: dynamo/rucio for a rate (higher is
better), rucio/dynamo for a duration or latency (lower is better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Metric", "advantage", "report_json"]

Better = Literal["higher", "lower"]


def advantage(dynamo: float, rucio: float, better: Better) -> float | None:
    """By how many times Dynamo beats Rucio on this figure (None if either is missing or 0)."""
    if dynamo <= 0 or rucio <= 0:
        return None
    ratio = dynamo / rucio if better == "higher" else rucio / dynamo
    return round(ratio, 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    name: str
    dynamo: float
    rucio: float
    unit: str
    better: Better
    target: float | None = None
    """The advantage the issue asks for (None: no target)."""

    @property
    def advantage(self) -> float | None:
        return advantage(self.dynamo, self.rucio, self.better)

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.advantage is None:
            return None
        return self.advantage >= self.target

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dynamo": self.dynamo,
            "rucio": self.rucio,
            "unit": self.unit,
            "advantage": self.advantage,
            "better": self.better,
            "target": self.target,
            "meets_target": self.meets_target,
        }


def report_json(metrics: list[Metric], **extra: Any) -> dict[str, Any]:
    """The ``--json`` document: ``metrics`` first, then the raw details in ``extra``."""
    return {"metrics": [m.to_dict() for m in metrics], **extra}
