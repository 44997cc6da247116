"""The Dealer's planner: proposals in, copies and rejections out (original-dynamo §5, 4-5).

:func:`plan` is pure and seeded. In the merged order of the proposals, for each one:

1. the item is resolved: the dataset must exist and be valid or in production, every named
   block must exist, and every block must have a complete replica somewhere (a source);
2. the candidates are the proposal's sites (or every site) that are *targets* -- status READY,
   name matching the target patterns, a quota in the partition that is not zero -- and
   lack some of the item's blocks;
3. a candidate qualifies when its transfer reliability is at least the minimum, the missing
   bytes fit under ``target_occupancy`` of the quota on top of the projected occupancy and what
   the cycle already sent there, and what is still to arrive stays under
   ``max_pending_fraction`` of the quota;
4. one qualifying site is drawn with weight ``(1 - occupancy after the copy) x reliability``:
   free space and a good transfer record both attract data (the original weighted by free
   space alone);
5. the copy is accepted unless it would take the cycle past ``max_cycle_volume``; once the
   cycle has placed that much, the remaining proposals are rejected without a look.

A proposal that fails is rejected with the reason of the furthest step a candidate reached.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dynamo.dealer.merge import merge_proposals
from dynamo.dealer.options import DealerOptions
from dynamo.dealer.plan import DealerPlan
from dynamo.dealer.proposals import (
    REJECT_ALREADY_THERE,
    REJECT_NO_SOURCE,
    REJECT_NOT_TARGET,
    REJECT_NOT_VALID,
    REJECT_NOTHING_TO_REOWN,
    REJECT_OCCUPANCY,
    REJECT_PENDING,
    REJECT_UNKNOWN_BLOCK,
    REJECT_UNKNOWN_DATASET,
    REJECT_UNRELIABLE,
    REJECT_VOLUME,
    Copy,
    PluginProposals,
    Proposal,
    Rejection,
    SiteStats,
)
from dynamo.model import (
    Block,
    Dataset,
    DatasetStatus,
    Inventory,
    Operation,
    Site,
    SitePartition,
    SiteStatus,
    UpsertBlockReplica,
    UpsertDatasetReplica,
)

__all__ = ["is_target_site", "plan", "reown"]

_USABLE = frozenset({DatasetStatus.VALID, DatasetStatus.PRODUCTION})
# the later a reason in this list, the further the best candidate got
_STAGES = (
    REJECT_NOT_TARGET,
    REJECT_ALREADY_THERE,
    REJECT_UNRELIABLE,
    REJECT_OCCUPANCY,
    REJECT_PENDING,
)
_MIN_WEIGHT = 1e-6


@dataclass(slots=True)
class _SiteState:
    """A target site during planning: its partition usage plus what the cycle sends."""

    site: Site
    quota: int
    projected: int
    physical: int
    reliability: float
    added: int = 0

    def occupancy_with(self, size: int) -> float:
        if self.quota < 0:
            return 0.0
        return (self.projected + self.added + size) / self.quota

    def pending_with(self, size: int) -> float:
        if self.quota < 0:
            return 0.0
        return (self.projected - self.physical + self.added + size) / self.quota


def is_target_site(site: Site, options: DealerOptions) -> bool:
    """READY, matching the target patterns, with a non-zero quota in the partition."""
    if site.status is not SiteStatus.READY or not options.is_target_name(site.name):
        return False
    partition = _partition_usage(site, options.partition)
    return partition is not None and partition.effective_quota() != 0


def _partition_usage(site: Site, name: str) -> SitePartition | None:
    for partition, usage in site.partitions.items():
        if partition.name == name:
            return usage
    return None


def plan(
    inventory: Inventory,
    batches: Sequence[PluginProposals],
    site_stats: Mapping[str, SiteStats],
    options: DealerOptions,
    *,
    now: int,
) -> DealerPlan:
    """Place the proposals of ``batches`` (see the module docstring). The inventory is only
    read; ``site_stats`` gives each site's reliability (missing: 1.0)."""
    rng = random.Random(options.seed)
    result = DealerPlan(partition=options.partition, seed=options.seed, now=now)
    states = _site_states(inventory, site_stats, options)
    placed: dict[tuple[str, str], set[str]] = {}  # (dataset, site) -> blocks placed this cycle
    volume = 0  # what result.volume would sum, kept as it grows
    for proposal in merge_proposals(batches, rng):
        if proposal.reown:
            reowned = reown(inventory, proposal, options)
            if isinstance(reowned, Rejection):
                result.rejections.append(reowned)
            else:
                result.copies.append(reowned)
            continue
        outcome = _place(inventory, proposal, states, placed, options, rng, volume)
        if isinstance(outcome, Rejection):
            result.rejections.append(outcome)
            continue
        state = states[outcome.site]
        state.added += outcome.size
        volume += outcome.size
        result.copies.append(outcome)
        result.site_bytes[outcome.site] = result.site_bytes.get(outcome.site, 0) + outcome.size
        dataset = inventory.datasets[proposal.dataset]
        if state.site not in dataset.replicas and (proposal.dataset, outcome.site) not in placed:
            result.new_dataset_replicas.add((proposal.dataset, outcome.site))
        placed.setdefault((proposal.dataset, outcome.site), set()).update(outcome.blocks)
    return result


def _site_states(
    inventory: Inventory, site_stats: Mapping[str, SiteStats], options: DealerOptions
) -> dict[str, _SiteState]:
    states = {}
    for name, site in sorted(inventory.sites.items()):
        if not is_target_site(site, options):
            continue
        usage = _partition_usage(site, options.partition)
        assert usage is not None  # is_target_site checked it
        stats = site_stats.get(name, SiteStats())
        states[name] = _SiteState(
            site=site,
            quota=usage.effective_quota(),
            projected=usage.projected_bytes,
            physical=usage.physical_bytes,
            reliability=min(1.0, max(0.0, stats.reliability)),
        )
    return states


def _place(
    inventory: Inventory,
    proposal: Proposal,
    states: Mapping[str, _SiteState],
    placed: Mapping[tuple[str, str], set[str]],
    options: DealerOptions,
    rng: random.Random,
    volume: int,
) -> Copy | Rejection:
    if volume >= options.max_cycle_volume:  # nothing more fits: no need to look
        return Rejection(proposal=proposal, reason=REJECT_VOLUME)
    resolved = _resolve(inventory, proposal)
    if isinstance(resolved, str):
        return Rejection(proposal=proposal, reason=resolved)
    dataset, blocks = resolved
    total = sum(block.size for block in blocks)
    names = sorted(states) if proposal.sites is None else sorted(set(proposal.sites))
    furthest = 0
    choices: list[tuple[str, tuple[Block, ...], int, float]] = []
    for name in names:
        state = states.get(name)
        if state is None:
            continue
        done = placed.get((proposal.dataset, name))
        if done is None and state.site not in dataset.replicas:
            missing, size = blocks, total  # nothing of it there: the common case, no scan
        else:
            missing = _missing(blocks, state.site, done or set())
            size = sum(block.size for block in missing)
        stage, weight = _qualify(state, missing, size, options)
        furthest = max(furthest, stage)
        if weight is not None:
            choices.append((name, missing, size, weight))
    if not choices:
        return Rejection(proposal=proposal, reason=_STAGES[furthest])
    (name, missing, size, _) = rng.choices(choices, weights=[c[3] for c in choices])[0]
    if volume + size > options.max_cycle_volume:
        return Rejection(proposal=proposal, reason=REJECT_VOLUME, size=size)
    return Copy(
        proposal=proposal,
        site=name,
        group=proposal.group or options.group,
        blocks=tuple(block.name for block in missing),
        size=size,
    )


def _qualify(
    state: _SiteState, missing: tuple[Block, ...], size: int, options: DealerOptions
) -> tuple[int, float | None]:
    """(index in _STAGES of the furthest check passed, the weight if the site qualifies)."""
    if not missing:
        return 1, None
    if state.reliability < options.min_reliability:
        return 2, None
    occupancy = state.occupancy_with(size)
    if occupancy > options.target_occupancy:
        return 3, None
    if state.pending_with(size) > options.max_pending_fraction:
        return 4, None
    return 4, max(_MIN_WEIGHT, (1.0 - occupancy) * state.reliability)


def _resolve(inventory: Inventory, proposal: Proposal) -> tuple[Dataset, tuple[Block, ...]] | str:
    dataset = inventory.datasets.get(proposal.dataset)
    if dataset is None:
        return REJECT_UNKNOWN_DATASET
    if dataset.status not in _USABLE:
        return REJECT_NOT_VALID
    if proposal.blocks is None:
        blocks = tuple(dataset.blocks.values())
    else:
        found = [dataset.find_block(name) for name in proposal.blocks]
        if any(block is None for block in found):
            return REJECT_UNKNOWN_BLOCK
        blocks = tuple(block for block in found if block is not None)
    if not blocks or not all(_has_source(block) for block in blocks):
        return REJECT_NO_SOURCE
    return dataset, blocks


def _has_source(block: Block) -> bool:
    return any(replica.is_complete() for replica in block.replicas)


def _missing(blocks: tuple[Block, ...], site: Site, placed: set[str]) -> tuple[Block, ...]:
    return tuple(
        block for block in blocks if block.find_replica(site) is None and block.name not in placed
    )


def reown(inventory: Inventory, proposal: Proposal, options: DealerOptions) -> Copy | Rejection:
    """An in-place copy: the block replicas of the item at the proposal's site owned by one
    of ``proposal.reown`` handed, as they are, to the proposal's group (or the default). No
    transfer, no volume; the site must be a target."""
    resolved = _resolve(inventory, proposal)
    if isinstance(resolved, str):
        return Rejection(proposal=proposal, reason=resolved)
    dataset, blocks = resolved
    site = inventory.sites.get((proposal.sites or ("",))[0])
    if site is None or not is_target_site(site, options):
        return Rejection(proposal=proposal, reason=REJECT_NOT_TARGET)
    replica = site.dataset_replicas.get(dataset)
    wanted = set(blocks)
    mine = [
        br
        for block, br in (replica.block_replicas.items() if replica is not None else ())
        if block in wanted and br.group.name in proposal.reown
    ]
    if replica is None or not mine:
        return Rejection(proposal=proposal, reason=REJECT_NOTHING_TO_REOWN)
    group = proposal.group or options.group
    ops: list[Operation] = []
    if replica.group.name in proposal.reown:
        ops.append(
            UpsertDatasetReplica(
                dataset=dataset.name, site=site.name, group=group, growing=replica.growing
            )
        )
    ops += [
        UpsertBlockReplica(
            dataset=dataset.name,
            block=br.block.name,
            site=site.name,
            group=group,
            is_custodial=br.is_custodial,
            size=br.size,
            num_files=br.num_files,
            last_update=br.last_update,
        )
        for br in mine
    ]
    return Copy(
        proposal=proposal,
        site=site.name,
        group=group,
        blocks=tuple(br.block.name for br in mine),
        size=sum(br.size for br in mine),
        reowned=tuple(ops),
    )
