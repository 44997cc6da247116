"""The popularity plug-in: replicas in proportion to demand (original-dynamo §5, CMS priority 3).

For every dataset with ``request_weight > 0`` (from the job queues, :mod:`.jobqueue`), no
larger than ``max_dataset_size``, with a block replica owned by one of ``source_groups``::

    wanted = min(max_replication, ceil(request_weight / request_to_replica_threshold))

and one proposal per copy missing (``wanted`` minus the dataset's replicas at disk sites).
Proposals are interleaved round robin by decreasing weight (d1, d2, ..., d1, ...), so every
popular dataset gets its second copy before any gets its third.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from dynamo.dealer.options import TB
from dynamo.dealer.ports import PlugInContext
from dynamo.dealer.proposals import Proposal
from dynamo.model import Dataset, StorageType

__all__ = ["PopularityPlugIn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PopularityPlugIn:
    """See the module docstring; ``weights`` is ``request_weight`` by dataset name."""

    weights: Mapping[str, float] = field(default_factory=dict)
    name: str = "popularity"
    priority: int = 3
    source_groups: tuple[str, ...] = ("AnalysisOps",)
    max_dataset_size: int = 50 * TB
    max_replication: int = 10
    request_to_replica_threshold: float = 1.75

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        queues: list[list[Proposal]] = []
        ranked = sorted(self.weights.items(), key=lambda item: (-item[1], item[0]))
        for name, weight in ranked:
            dataset = ctx.inventory.datasets.get(name)
            if weight <= 0 or dataset is None or not self._eligible(dataset):
                continue
            wanted = min(
                self.max_replication, math.ceil(weight / self.request_to_replica_threshold)
            )
            existing = sum(1 for site in dataset.replicas if site.storage_type is StorageType.DISK)
            reason = f"request_weight {weight:.2f}: {wanted} copies wanted, {existing} exist"
            queues.append(
                [
                    Proposal(plugin=self.name, priority=self.priority, dataset=name, reason=reason)
                    for _ in range(wanted - existing)
                ]
            )
        return _round_robin(queues)

    def _eligible(self, dataset: Dataset) -> bool:
        if dataset.size > self.max_dataset_size:
            return False
        if not self.source_groups:
            return True
        return any(
            replica.group.name in self.source_groups
            for dataset_replica in dataset.replicas.values()
            for replica in dataset_replica.block_replicas.values()
        )


def _round_robin(queues: list[list[Proposal]]) -> list[Proposal]:
    merged: list[Proposal] = []
    depth = max((len(queue) for queue in queues), default=0)
    for round_ in range(depth):
        merged += [queue[round_] for queue in queues if round_ < len(queue)]
    return merged
