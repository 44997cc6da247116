"""Builders shared by the Dealer tests: a grid of T2 sites with quotas, options, proposals."""

from __future__ import annotations

from collections.abc import Mapping

from dynamo.dealer import (
    DealerOptions,
    DealerPlan,
    PluginProposals,
    Proposal,
    SiteStats,
    plan,
)
from dynamo.model import (
    ChangeSet,
    Inventory,
    Operation,
    SiteStatus,
    UpsertBlock,
    UpsertFile,
    UpsertGroup,
)
from dynamo.policy import load_partitions, partition_compiler
from dynamo.store import SqlInventoryStore
from unit.policy.builders import GB, NOW, PARTITIONS, Builder

__all__ = ["GB", "NOW", "grid", "options", "proposal", "run_plan", "sample", "write_world"]


def grid(
    quotas_gb: Mapping[str, int],
    *,
    statuses: Mapping[str, SiteStatus] | None = None,
    builder: Builder | None = None,
) -> Builder:
    """Sites with an AnalysisOps quota each (GB), and a tape site holding a source copy of
    every dataset made with :func:`sample`."""
    b = builder or Builder()
    b.site("T1_XX_Tape", mss=True)
    for name, quota in quotas_gb.items():
        b.site(name, status=(statuses or {}).get(name, SiteStatus.READY))
        b.quota(name, "AnalysisOps", quota * GB)
    return b


def sample(b: Builder, name: str, *, blocks: int = 2, at: tuple[str, ...] = ("T1_XX_Tape",)) -> str:
    """A dataset of ``blocks`` 1-GB blocks with complete replicas at ``at``."""
    b.dataset(name, blocks=blocks)
    for site in at:
        b.replica(name, site, "DataOps" if site.endswith("_Tape") else "AnalysisOps")
    return name


def options(**values: object) -> DealerOptions:
    values.setdefault("target_sites", ("T2_*",))
    values.setdefault("max_pending_fraction", 1.0)
    return DealerOptions(**values)  # type: ignore[arg-type]


def proposal(dataset: str, **values: object) -> Proposal:
    values.setdefault("plugin", "test")
    values.setdefault("priority", 1)
    values.setdefault("reason", "test")
    return Proposal(dataset=dataset, **values)  # type: ignore[arg-type]


def run_plan(
    inventory: Inventory,
    proposals: list[Proposal],
    *,
    stats: Mapping[str, SiteStats] | None = None,
    **opts: object,
) -> DealerPlan:
    """Plan ``proposals`` as one plug-in's list."""
    batch = PluginProposals(plugin="test", priority=1, proposals=tuple(proposals))
    return plan(inventory, [batch], stats or {}, options(**opts), now=NOW)


def write_world(store: SqlInventoryStore, builder: Builder) -> Inventory:
    """Write the builder's inventory, with 10 files per block, to ``store``; returns it."""
    partitions = load_partitions(PARTITIONS.read_text(), file=str(PARTITIONS))
    head: list[Operation] = [UpsertGroup(name=n) for n in ("AnalysisOps", "DataOps", "RelVal")]
    head += [op for op in partitions.ops if " " not in op.name]  # type: ignore[attr-defined]
    files: list[Operation] = []
    for op in builder.ops:
        if isinstance(op, UpsertBlock):
            files += [
                UpsertFile(
                    lfn=f"/store/{op.dataset.strip('/').replace('/', '_')}/{op.name}/{i}.root",
                    dataset=op.dataset,
                    block=op.name,
                    size=op.size // 10,
                    adler32="00000001",
                )
                for i in range(10)
            ]
    changeset = ChangeSet.of([*head, *builder.ops, *files])
    inventory = Inventory(partition_compiler=partition_compiler(now=NOW))
    store.write(changeset, inventory)
    inventory.apply(changeset)
    return inventory
