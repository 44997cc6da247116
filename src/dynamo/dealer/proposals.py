"""What plug-ins propose and what the planner decides: proposals, copies and rejections.

A :class:`Proposal` asks for one more copy of a dataset (or of some of its blocks) at one of
``sites`` (None: any target site, the planner chooses). The planner turns it into a
:class:`Copy` at one site, or a :class:`Rejection` with the reason. Reasons are short fixed
phrases (the ``REJECT_*`` constants), so that a cycle's rejections can be counted by reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from dynamo.model import Operation

__all__ = [
    "REJECT_ALREADY_THERE",
    "REJECT_NOTHING_TO_REOWN",
    "REJECT_NOT_TARGET",
    "REJECT_NOT_VALID",
    "REJECT_NO_SOURCE",
    "REJECT_OCCUPANCY",
    "REJECT_PENDING",
    "REJECT_UNKNOWN_BLOCK",
    "REJECT_UNKNOWN_DATASET",
    "REJECT_UNRELIABLE",
    "REJECT_VOLUME",
    "Copy",
    "PluginProposals",
    "Proposal",
    "Rejection",
    "SiteStats",
]

REJECT_UNKNOWN_DATASET: Final = "unknown dataset"
REJECT_UNKNOWN_BLOCK: Final = "unknown block"
REJECT_NOT_VALID: Final = "dataset is neither valid nor in production"
REJECT_NO_SOURCE: Final = "no source replica"
REJECT_NOT_TARGET: Final = "no target site among the candidates"
REJECT_ALREADY_THERE: Final = "already at every candidate site"
REJECT_UNRELIABLE: Final = "candidate sites below the minimum reliability"
REJECT_OCCUPANCY: Final = "no candidate site has room under the target occupancy"
REJECT_PENDING: Final = "candidate sites at the pending-fraction limit"
REJECT_VOLUME: Final = "cycle volume cap reached"
REJECT_NOTHING_TO_REOWN: Final = "nothing owned by the groups to reassign at the site"


@dataclass(frozen=True, slots=True, kw_only=True)
class Proposal:
    """One more copy of ``dataset`` (``blocks``: only these, by name; None: every block).

    ``reown`` is an in-place copy: the blocks already at the single site of ``sites`` owned by
    one of ``reown`` are handed to ``group``, and nothing is transferred.
    """

    plugin: str
    priority: int
    dataset: str
    reason: str
    blocks: tuple[str, ...] | None = None
    sites: tuple[str, ...] | None = None
    group: str | None = None
    request_id: int | None = None
    reown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PluginProposals:
    """A plug-in's proposals in its own order of preference, and its priority (lower first;
    0 makes the plug-in's proposals win over every finite-priority one)."""

    plugin: str
    priority: int
    proposals: tuple[Proposal, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    """An accepted proposal: the block replicas ``blocks`` to create at ``site`` (the missing
    ones), ``size`` bytes in all, owned by ``group``. An in-place copy (``reowned``) carries
    the block replicas handed to ``group`` instead, as they are."""

    proposal: Proposal
    site: str
    group: str
    blocks: tuple[str, ...]
    size: int
    reowned: tuple[Operation, ...] = ()

    def to_json(self) -> dict[str, Any]:
        p = self.proposal
        return {
            "plugin": p.plugin,
            "dataset": p.dataset,
            "blocks": None if p.blocks is None else len(self.blocks),
            "site": self.site,
            "group": self.group,
            "size": self.size,
            "reason": p.reason,
            "request_id": p.request_id,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """A proposal the planner turned down, and why."""

    proposal: Proposal
    reason: str
    size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteStats:
    """Outside facts about a site: ``reliability`` is the recent success rate of transfers to
    it (1.0 without a record), ``protected_fraction`` the bytes the latest Detox cycle
    protected there over the quota (None: no Detox cycle saw the site)."""

    reliability: float = 1.0
    protected_fraction: float | None = None
