"""The ``enforcer`` producer: ``replica.enforcer_protected`` from enforcer rules.

Configuration: ``rules`` -- the path of an enforcer rules JSON file, or a list of them (relative
paths are read from the configuration directory). Without ``rules`` nothing is protected, and
that is logged once at WARNING when the producer is built.

Which replicas a rule protects (only rules with ``"protect": true`` protect; the others only
drive the Dealer). Per rules file, the partition it names scopes the rules:

1. the destination sites are those matching one of the rule's ``destinations`` conditions
   (``site.occupancy`` reads the file's partition at the site);
2. the candidates are the dataset replicas at destination sites that hold a block replica of
   the partition and match one of the rule's ``replicas`` conditions (a block-level variable
   there means "some block replica of the partition");
3. per dataset, ``num_copies`` candidates are protected, chosen in this order: full replicas
   first, then replicas whose present block replicas are all complete, then the rest; ties go
   to the site name, alphabetically.

A replica is protected if any rule protects it. The original tagger protected the candidates
only when there were at most ``num_copies`` of them, so a dataset with one copy too many could
lose every copy in one cycle (producers run once per cycle); here ``num_copies`` of them (or
all, if fewer) are always kept. A file naming a partition the inventory does not define is
applied to whole replicas, with a warning.

Cost: a rule whose ``replicas`` conditions all name datasets (``dataset.name == X`` with an
exact name or a glob, or ``in [...]``, possibly inside ``and``) visits only those datasets:
exact names are looked up, and the globs of every rule go through one
:class:`dynamo.producers.globs.GlobIndex` in one pass over the dataset names. Other rules
visit the replicas at their destination sites.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from dynamo.errors import ConfigurationError
from dynamo.model import Dataset, DatasetReplica, Inventory, Partition, Site, SitePartition
from dynamo.policy import (
    And,
    Attributes,
    Condition,
    EnforcerRule,
    EnforcerRules,
    EvaluationContext,
    Frame,
    Or,
    Pred,
    Predicate,
    ValueKind,
    compile_condition,
    parse_enforcer_rules,
)
from dynamo.policy.attributes import ENFORCER_PROTECTED
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.globs import GlobIndex
from dynamo.producers.options import check_keys, string_list

__all__ = ["DatasetNames", "EnforcerProducer", "dataset_names_of"]

log = logging.getLogger(__name__)

NAME: Final = "enforcer"


@dataclass(frozen=True, slots=True)
class DatasetNames:
    """The dataset names a condition can be true for: these exact names and globs."""

    exact: frozenset[str]
    globs: tuple[str, ...]


def dataset_names_of(condition: Condition) -> DatasetNames | None:
    """The names ``condition`` is restricted to, or None when it may match any dataset.

    A superset: the condition itself is still evaluated on the datasets found.
    """
    match condition:
        case Predicate(variable="dataset.name", operator="==" | "in", values=values) if all(
            v.kind in (ValueKind.TEXT, ValueKind.GLOB) for v in values
        ):
            exact = frozenset(v.text for v in values if v.kind is ValueKind.TEXT)
            return DatasetNames(exact, tuple(v.text for v in values if v.kind is ValueKind.GLOB))
        case And(operands=operands):
            for operand in operands:
                found = dataset_names_of(operand)
                if found is not None:
                    return found
            return None
        case Or(operands=operands):
            return _union([dataset_names_of(operand) for operand in operands])
    return None


def _union(parts: Sequence[DatasetNames | None]) -> DatasetNames | None:
    if any(part is None for part in parts):
        return None
    known = [part for part in parts if part is not None]
    return DatasetNames(
        frozenset().union(*(p.exact for p in known)), tuple(g for p in known for g in p.globs)
    )


_NOTHING: Final = DatasetNames(frozenset(), ())


@dataclass(slots=True)
class _CompiledRule:
    """One protecting rule against one inventory at one ``now``."""

    name: str
    num_copies: int
    replicas: list[Pred]
    destinations: list[Site]
    names: DatasetNames | None
    ctx: EvaluationContext

    def matches(self, replica: DatasetReplica) -> bool:
        frame = Frame.of_replica(self.ctx, replica)
        if not frame.block_replicas:
            return False
        return any(pred(frame, None) for pred in self.replicas)


class EnforcerProducer:
    """Protects replicas by the ``protect: true`` rules of ``rule_sets``."""

    produces: frozenset[str] = frozenset({ENFORCER_PROTECTED})

    def __init__(self, rule_sets: Sequence[EnforcerRules]) -> None:
        self.rule_sets = tuple(rule_sets)

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        rules = [
            _compile(rule, rule_set, inventory, attributes, now)
            for rule_set in self.rule_sets
            for rule in rule_set.rules
            if rule.protect
        ]
        globbed = _glob_matches(inventory, rules)
        for index, rule in enumerate(rules):
            protected = 0
            for replica in _protected(rule, _candidates(rule, inventory, globbed.get(index, []))):
                attributes.set_replica(
                    ENFORCER_PROTECTED, replica.dataset.name, replica.site.name, True
                )
                protected += 1
            log.info("enforcer rule %s protects %d replicas", rule.name, protected)


@register_producer(NAME, EnforcerProducer.produces)
def _build(config: Mapping[str, Any], sources: ProducerSources) -> EnforcerProducer:
    check_keys(config, NAME, ("rules",))
    if "rules" not in config:
        log.warning("producer %r has no rules configured: no replica is enforcer-protected", NAME)
        return EnforcerProducer(())
    paths = [
        sources.path(value, producer=NAME, key="rules")
        for value in string_list(config["rules"], NAME, "rules")
    ]
    return EnforcerProducer([_read_rules(path) for path in paths])


def _read_rules(path: Path) -> EnforcerRules:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"producer {NAME!r}: cannot read the rules file {path}: {exc}"
        ) from exc
    return parse_enforcer_rules(text, file=str(path))


def _compile(
    rule: EnforcerRule,
    rule_set: EnforcerRules,
    inventory: Inventory,
    attributes: Attributes,
    now: int,
) -> _CompiledRule:
    partition = _partition(inventory, rule_set.partition)
    ctx = EvaluationContext(now=now, attributes=attributes, partition=partition)
    destinations = [compile_condition(c, now) for c in rule.destinations]
    sites = [
        site
        for _, site in sorted(inventory.sites.items())
        if any(
            pred(Frame.of_site(ctx, site, _usage(site, partition)), None) for pred in destinations
        )
    ]
    # no replica condition: the rule matches nothing
    names = _union([dataset_names_of(c) for c in rule.replicas]) if rule.replicas else _NOTHING
    return _CompiledRule(
        name=rule.name,
        num_copies=rule.num_copies,
        replicas=[compile_condition(c, now) for c in rule.replicas],
        destinations=sites,
        names=names,
        ctx=ctx,
    )


def _partition(inventory: Inventory, name: str) -> Partition | None:
    if not name:
        return None
    partition = inventory.partitions.get(name)
    if partition is None:
        log.warning(
            "enforcer rules of partition %r: the inventory has no such partition; "
            "the rules are applied to whole replicas",
            name,
        )
    return partition


def _usage(site: Site, partition: Partition | None) -> SitePartition | None:
    return None if partition is None else site.partitions.get(partition)


def _glob_matches(inventory: Inventory, rules: Sequence[_CompiledRule]) -> dict[int, list[Dataset]]:
    """Rule index -> the datasets its globs match, in one pass over the names for all rules."""
    index = GlobIndex(
        (glob, number)
        for number, rule in enumerate(rules)
        if rule.names is not None
        for glob in rule.names.globs
    )
    found: dict[int, list[Dataset]] = {}
    if not len(index):
        return found
    for name, dataset in inventory.datasets.items():
        for number in dict.fromkeys(index.matches(name)):
            found.setdefault(number, []).append(dataset)
    return found


def _candidates(
    rule: _CompiledRule, inventory: Inventory, globbed: list[Dataset]
) -> Iterator[DatasetReplica]:
    """The replicas at the rule's destinations that match its ``replicas`` conditions."""
    if rule.names is None:
        replicas: Iterable[DatasetReplica] = (
            replica for site in rule.destinations for replica in site.dataset_replicas.values()
        )
    else:
        datasets = inventory.datasets
        named = [datasets[name] for name in sorted(rule.names.exact) if name in datasets]
        destinations = set(rule.destinations)
        replicas = (
            replica
            for dataset in dict.fromkeys([*named, *globbed])
            for site, replica in dataset.replicas.items()
            if site in destinations
        )
    return (replica for replica in replicas if rule.matches(replica))


def _protected(
    rule: _CompiledRule, candidates: Iterable[DatasetReplica]
) -> Iterator[DatasetReplica]:
    """Per dataset, the first ``num_copies`` candidates in the order of the module docstring."""
    by_dataset: dict[str, list[DatasetReplica]] = {}
    for replica in candidates:
        by_dataset.setdefault(replica.dataset.name, []).append(replica)
    for replicas in by_dataset.values():
        if len(replicas) > rule.num_copies:
            replicas.sort(key=_preference)
        yield from replicas[: rule.num_copies]


def _preference(replica: DatasetReplica) -> tuple[bool, bool, str]:
    return (not replica.is_full(), not replica.is_complete(), replica.site.name)
