"""The plan of a Dealer cycle: the copies accepted, the proposals rejected, and the ChangeSet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dynamo.dealer.proposals import Copy, Rejection
from dynamo.model import ChangeSet, Operation, UpsertBlockReplica, UpsertDatasetReplica

__all__ = ["DealerPlan", "Subscription"]


@dataclass(frozen=True, slots=True)
class Subscription:
    """Every missing file of block ``block`` of ``dataset`` should come to ``site``."""

    site: str
    dataset: str
    block: str


@dataclass(slots=True, kw_only=True)
class DealerPlan:
    """A planned cycle. ``new_dataset_replicas`` are the (dataset, site) pairs that have no
    dataset replica yet; ``site_bytes`` the bytes each destination receives."""

    partition: str
    seed: int
    now: int
    copies: list[Copy] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    new_dataset_replicas: set[tuple[str, str]] = field(default_factory=set)
    site_bytes: dict[str, int] = field(default_factory=dict)

    @property
    def volume(self) -> int:
        """Bytes the accepted copies bring (in-place copies bring none)."""
        return sum(copy.size for copy in self.copies if not copy.reowned)

    def rejection_counts(self) -> dict[str, int]:
        """Rejected proposals by reason."""
        return dict(sorted(Counter(r.reason for r in self.rejections).items()))

    def changeset(self) -> ChangeSet:
        """New incomplete replicas: a dataset replica where there is none (growing when the
        whole dataset is copied), then an empty block replica per copied block; their
        projected size counts in the site's occupancy at once."""
        ops: list[Operation] = []
        for copy in self.copies:
            if copy.reowned:
                ops += copy.reowned
                continue
            key = (copy.proposal.dataset, copy.site)
            if key in self.new_dataset_replicas:
                ops.append(
                    UpsertDatasetReplica(
                        dataset=copy.proposal.dataset,
                        site=copy.site,
                        group=copy.group,
                        growing=copy.proposal.blocks is None,
                    )
                )
            ops += [
                UpsertBlockReplica(
                    dataset=copy.proposal.dataset,
                    block=block,
                    site=copy.site,
                    group=copy.group,
                    size=0,
                    num_files=0,
                    last_update=self.now,
                )
                for block in copy.blocks
            ]
        return ChangeSet(_first_replica_once(ops))

    def subscriptions(self) -> list[Subscription]:
        """The block transfers to subscribe, in the order of the copies."""
        return [
            Subscription(copy.site, copy.proposal.dataset, block)
            for copy in self.copies
            if not copy.reowned
            for block in copy.blocks
        ]

    def summary(self) -> dict[str, Any]:
        """Counts for the history and ``--json``."""
        by_plugin = Counter(copy.proposal.plugin for copy in self.copies)
        return {
            "partition": self.partition,
            "seed": self.seed,
            "copies": len(self.copies),
            "block_replicas": sum(len(copy.blocks) for copy in self.copies),
            "volume": self.volume,
            "rejected": len(self.rejections),
            "rejections": self.rejection_counts(),
            "copies_by_plugin": dict(sorted(by_plugin.items())),
            "site_bytes": dict(sorted(self.site_bytes.items())),
        }


def _first_replica_once(ops: list[Operation]) -> tuple[Operation, ...]:
    """Drop a dataset-replica upsert that repeats one made earlier in the list."""
    seen: set[tuple[str, str]] = set()
    kept: list[Operation] = []
    for op in ops:
        if isinstance(op, UpsertDatasetReplica):
            if (op.dataset, op.site) in seen:
                continue
            seen.add((op.dataset, op.site))
        kept.append(op)
    return tuple(kept)
