"""What a compiled condition is evaluated on: a :class:`Frame` inside an :class:`EvaluationContext`.

A frame is one dataset replica (with the block replicas still under consideration, which shrink
as block-level policy lines peel blocks off), one site partition (site conditions), or one block
replica (partition conditions). The context holds ``now``, the attributes and the per-pass caches
of derived values; call :meth:`EvaluationContext.new_pass` whenever the model changed.
"""

from __future__ import annotations

from dynamo.model import (
    BlockReplica,
    Dataset,
    DatasetReplica,
    Partition,
    Site,
    SitePartition,
)
from dynamo.policy.attributes import Attributes

__all__ = ["EvaluationContext", "Frame"]


class EvaluationContext:
    """``now`` (epoch seconds), the attributes, the policy's partition and per-pass caches."""

    __slots__ = ("attributes", "dataset_cache", "now", "partition")

    def __init__(
        self,
        *,
        now: int,
        attributes: Attributes | None = None,
        partition: Partition | None = None,
    ) -> None:
        self.now = now
        self.attributes = attributes if attributes is not None else Attributes()
        self.partition = partition
        self.dataset_cache: dict[str, dict[str, object]] = {}

    def new_pass(self) -> None:
        """Forget derived values: the inventory has changed since they were computed."""
        self.dataset_cache.clear()

    def dataset_facts(self, dataset: Dataset) -> dict[str, object]:
        """The per-pass cache of derived values of one dataset."""
        facts = self.dataset_cache.get(dataset.name)
        if facts is None:
            facts = self.dataset_cache[dataset.name] = {}
        return facts


class Frame:
    """One object under evaluation. ``replica`` is None for site and partition conditions."""

    __slots__ = ("block_replicas", "cache", "ctx", "dataset", "replica", "site", "usage")

    def __init__(
        self,
        ctx: EvaluationContext,
        *,
        site: Site,
        replica: DatasetReplica | None = None,
        dataset: Dataset | None = None,
        block_replicas: list[BlockReplica] | None = None,
        usage: SitePartition | None = None,
    ) -> None:
        self.ctx = ctx
        self.site = site
        self.replica = replica
        self.dataset = dataset if dataset is not None or replica is None else replica.dataset
        if block_replicas is None:
            block_replicas = [] if replica is None else list(replica.block_replicas.values())
        self.block_replicas = block_replicas
        self.usage = usage
        self.cache: dict[str, object] = {}

    @classmethod
    def of_replica(
        cls,
        ctx: EvaluationContext,
        replica: DatasetReplica,
        block_replicas: list[BlockReplica] | None = None,
    ) -> Frame:
        """The frame of a dataset replica: with a partition, only its block replicas inside
        (``block_replicas``, when the caller has listed them already)."""
        frame = cls.__new__(cls)  # the hot path: no keyword handling
        frame.ctx = ctx
        frame.site = replica.site
        frame.replica = replica
        frame.dataset = replica.dataset
        frame.cache = {}
        partition = ctx.partition
        if block_replicas is not None:
            frame.block_replicas = block_replicas
            frame.usage = None if partition is None else replica.site.partitions.get(partition)
        elif partition is None:
            frame.block_replicas = list(replica.block_replicas.values())
            frame.usage = None
        else:
            bit = 1 << partition.index
            frame.block_replicas = [
                br for br in replica.block_replicas.values() if br.partition_mask & bit
            ]
            frame.usage = replica.site.partitions.get(partition)
        return frame

    @classmethod
    def of_block_replica(cls, ctx: EvaluationContext, replica: BlockReplica) -> Frame:
        dataset_replica = replica.site.dataset_replicas.get(replica.block.dataset)
        return cls(
            ctx,
            site=replica.site,
            replica=dataset_replica,
            dataset=replica.block.dataset,
            block_replicas=[replica],
        )

    @classmethod
    def of_site(cls, ctx: EvaluationContext, site: Site, usage: SitePartition | None) -> Frame:
        return cls(ctx, site=site, usage=usage)
