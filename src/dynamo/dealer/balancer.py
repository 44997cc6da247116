"""The balancer plug-in: moves last copies off sites whose protected fraction is high.

From the latest Detox cycle, each site's protected fraction (protected bytes over quota, in
:class:`~dynamo.dealer.proposals.SiteStats`). Repeatedly the site with the highest fraction
proposes its next "last copy" -- a full dataset replica at it whose dataset has at most
``max_copies`` full replicas at disk sites, no larger than ``max_dataset_size``, every block
replica of it in the Dealer's partition (user data and other partitions are not the
balancer's to move), smallest first -- and its fraction drops by that size over its quota
(once copied elsewhere, Detox no longer has to protect it there), until the spread between
the highest and the lowest fraction is under ``spread`` (5 %), the site has nothing left to
offer, or ``max_cycle_volume`` is proposed. The destination is the planner's choice.

Departure: the original read each protected dataset's deciding policy line from the Detox
history (``target_reasons``); here a last copy is counted from the inventory directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.dealer.options import TB
from dynamo.dealer.ports import PlugInContext
from dynamo.dealer.proposals import Proposal
from dynamo.model import DatasetReplica, Partition, Site, StorageType

__all__ = ["BalancerPlugIn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancerPlugIn:
    """See the module docstring."""

    name: str = "balancer"
    priority: int = 3
    max_dataset_size: int = 75 * TB
    max_cycle_volume: int = 35 * TB
    max_copies: int = 1
    spread: float = 0.05

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        fractions: dict[str, float] = {}
        quotas: dict[str, int] = {}
        offers: dict[str, list[DatasetReplica]] = {}
        for name, stats in sorted(ctx.site_stats.items()):
            site = ctx.inventory.sites.get(name)
            quota = 0 if site is None else _quota(site, ctx.options.partition)
            if stats.protected_fraction is None or site is None or quota <= 0:
                continue
            fractions[name] = stats.protected_fraction
            quotas[name] = quota
        proposals: list[Proposal] = []
        volume = 0
        while len(fractions) > 1:
            top = max(fractions, key=lambda n: (fractions[n], n))
            if fractions[top] - min(fractions.values()) < self.spread:
                break
            if top not in offers:  # only the sites that come to the top are scanned
                partition = ctx.inventory.partitions.get(ctx.options.partition)
                offers[top] = self._last_copies(ctx.inventory.sites[top], partition)
            if not offers[top]:
                del fractions[top]
                continue
            replica = offers[top].pop()
            size = replica.dataset.size
            if volume + size > self.max_cycle_volume:
                break
            reason = f"last copy at {top}, protected fraction {fractions[top]:.1%}"
            proposals.append(
                Proposal(
                    plugin=self.name,
                    priority=self.priority,
                    dataset=replica.dataset.name,
                    group=replica.group.name,
                    reason=reason,
                )
            )
            volume += size
            fractions[top] -= size / quotas[top]
        return proposals

    def _last_copies(self, site: Site, partition: Partition | None) -> list[DatasetReplica]:
        found = [
            replica
            for replica in site.dataset_replicas.values()
            if replica.dataset.size <= self.max_dataset_size
            and replica.is_full()
            and _full_disk_copies(replica) <= self.max_copies
            and partition is not None
            and all(partition.contains(br) for br in replica.block_replicas.values())
        ]
        # popped from the end: the smallest first
        return sorted(found, key=lambda r: (r.dataset.size, r.dataset.name), reverse=True)


def _full_disk_copies(replica: DatasetReplica) -> int:
    return sum(
        1
        for site, other in replica.dataset.replicas.items()
        if site.storage_type is StorageType.DISK and other.is_full()
    )


def _quota(site: Site, partition: str) -> int:
    for part, usage in site.partitions.items():
        if part.name == partition:
            return usage.effective_quota()
    return 0
