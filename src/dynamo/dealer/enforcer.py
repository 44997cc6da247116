"""The enforcer plug-in: N copies of matching data at matching sites (CMS priority 2).

For each rule of the enforcer rules files (the shape of dynamo-policies'
``enforcer_rules_*.json``, parsed by :func:`dynamo.policy.parse_enforcer_rules`): the datasets
with a replica at a ``sources`` site that matches one of the ``replicas`` conditions; their
replicas at ``destinations`` sites owned by the destination group (the rule's, or the file's
default) are counted, complete or not; each copy short of ``num_copies`` is one proposal whose
candidates are the destination sites. ``protect`` is Detox's business (the enforcer producer).

When the ``replicas`` conditions name datasets (exact names and globs, as every CMS rule does),
only the datasets so named are examined: the globs of all rules are matched in one pass over
the dataset names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dynamo.dealer.ports import PlugInContext
from dynamo.dealer.proposals import Proposal
from dynamo.model import Dataset, DatasetReplica, Inventory, Site
from dynamo.policy import (
    EnforcerRule,
    EnforcerRules,
    EvaluationContext,
    Frame,
    Pred,
    compile_condition,
)
from dynamo.producers.enforcer import DatasetNames, dataset_names_of
from dynamo.producers.globs import GlobIndex

__all__ = ["EnforcerPlugIn"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnforcerPlugIn:
    """See the module docstring."""

    rule_sets: Sequence[EnforcerRules] = ()
    name: str = "enforcer"
    priority: int = 2

    def propose(self, ctx: PlugInContext) -> list[Proposal]:
        rules = [
            (rule, rule.destination_group or rule_set.default_destination_group)
            for rule_set in self.rule_sets
            for rule in rule_set.rules
        ]
        named = _named_datasets(ctx.inventory, [rule for rule, _ in rules])
        proposals: list[Proposal] = []
        for index, (rule, group) in enumerate(rules):
            proposals += self._rule(ctx, rule, group or ctx.options.group, named.get(index))
        return proposals

    def _rule(
        self,
        ctx: PlugInContext,
        rule: EnforcerRule,
        group: str,
        named: list[Dataset] | None,
    ) -> list[Proposal]:
        ectx = EvaluationContext(now=ctx.now)
        destinations = _sites(
            ctx.inventory, ectx, [compile_condition(c, ctx.now) for c in rule.destinations]
        )
        sources = _sites(ctx.inventory, ectx, [compile_condition(c, ctx.now) for c in rule.sources])
        matchers = [compile_condition(c, ctx.now) for c in rule.replicas]
        if not matchers or not destinations:
            return []
        datasets: dict[str, Dataset] = {}
        for replica in _source_replicas(sources, named):
            if replica.dataset.name in datasets:
                continue
            frame = Frame.of_replica(ectx, replica)
            if any(match(frame, None) for match in matchers):
                datasets[replica.dataset.name] = replica.dataset
        wanted = tuple(site.name for site in destinations)
        at = set(destinations)
        proposals = []
        for name, dataset in sorted(datasets.items()):
            have = sum(
                1
                for site, replica in dataset.replicas.items()
                if site in at and replica.group.name == group
            )
            reason = f"enforcer rule {rule.name}: {rule.num_copies} copies wanted, {have} exist"
            proposals += [
                Proposal(
                    plugin=self.name,
                    priority=self.priority,
                    dataset=name,
                    sites=wanted,
                    group=group,
                    reason=reason,
                )
                for _ in range(rule.num_copies - have)
            ]
        return proposals


def _sites(inventory: Inventory, ectx: EvaluationContext, preds: list[Pred]) -> list[Site]:
    return [
        site
        for _, site in sorted(inventory.sites.items())
        if any(pred(Frame.of_site(ectx, site, None), None) for pred in preds)
    ]


def _source_replicas(sources: list[Site], named: list[Dataset] | None) -> list[DatasetReplica]:
    if named is None:
        return [replica for site in sources for replica in site.dataset_replicas.values()]
    at = set(sources)
    return [
        replica for dataset in named for site, replica in dataset.replicas.items() if site in at
    ]


def _named_datasets(
    inventory: Inventory, rules: Sequence[EnforcerRule]
) -> dict[int, list[Dataset]]:
    """Rule index -> the datasets its ``replicas`` conditions can match, for the rules whose
    conditions all name datasets; the globs of every rule in one pass over the names."""
    names: dict[int, DatasetNames] = {}
    for index, rule in enumerate(rules):
        parts = [dataset_names_of(condition) for condition in rule.replicas]
        if parts and all(part is not None for part in parts):
            known = [part for part in parts if part is not None]
            names[index] = DatasetNames(
                frozenset().union(*(p.exact for p in known)),
                tuple(g for p in known for g in p.globs),
            )
    found: dict[int, list[Dataset]] = {
        index: [inventory.datasets[n] for n in sorted(known.exact) if n in inventory.datasets]
        for index, known in names.items()
    }
    index_of_globs = GlobIndex(
        (glob, index) for index, known in names.items() for glob in known.globs
    )
    if len(index_of_globs):
        for name, dataset in inventory.datasets.items():
            for index in dict.fromkeys(index_of_globs.matches(name)):
                found[index].append(dataset)
    return found
