"""The Dealer's ports: plug-ins that propose copies, and the job queue popularity reads.

Every port has an in-memory implementation here or beside it (:class:`MemoryJobQueue`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dynamo.dealer.options import DealerOptions
from dynamo.dealer.proposals import Proposal, SiteStats
from dynamo.model import Inventory

__all__ = ["JobQueueSource", "MemoryJobQueue", "PlugIn", "PlugInContext", "QueuedJobs"]


@dataclass(frozen=True, slots=True)
class PlugInContext:
    """What every plug-in may read: the inventory (read only), the time, the options and the
    outside facts about sites."""

    inventory: Inventory
    now: int
    options: DealerOptions
    site_stats: Mapping[str, SiteStats] = field(default_factory=dict)


class PlugIn(Protocol):
    """A source of proposals, in its own order of preference (original-dynamo §5)."""

    @property
    def name(self) -> str: ...

    @property
    def priority(self) -> int: ...

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        """The copies this plug-in wants now."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedJobs:
    """``jobs`` jobs queued at ``queued`` (epoch s) that read ``dataset``."""

    dataset: str
    jobs: int
    queued: int


class JobQueueSource(Protocol):
    """Which datasets the jobs in the queues want (CMS: the global HTCondor queue)."""

    def queued_jobs(self, now: int) -> list[QueuedJobs]:
        """The job records known at ``now``."""
        ...


class MemoryJobQueue:
    """A :class:`JobQueueSource` over a list (tests, the demo's synthetic jobs)."""

    def __init__(self, records: Iterable[QueuedJobs] = ()) -> None:
        self.records = list(records)

    def queued_jobs(self, now: int) -> list[QueuedJobs]:
        return [record for record in self.records if record.queued <= now]
