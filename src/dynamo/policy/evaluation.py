"""Detox policy evaluation (original-dynamo §3.3): ordered first match with block peeling.

Each dataset replica goes through the policy lines in file order. A dataset-level line that
matches decides the rest of the replica. A block-level line takes the block replicas it matches
off the replica for all following lines; if it matches all that remain, it decides the replica
as the dataset-level action. The bare default always matches. Every :class:`Decision` names the
line that made it.

Speed: conjuncts on ``dataset.name`` are evaluated once per dataset name and cached, and exact
names (``dataset.name == X``) are looked up in a dict, so each replica only meets the lines that
can match its name; a line decided by the name alone ends the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from dynamo.model import BlockReplica, DatasetReplica, Site, SitePartition
from dynamo.policy.compiler import Pred, compile_condition, compile_value_test, reads_scopes
from dynamo.policy.context import EvaluationContext, Frame
from dynamo.policy.nodes import (
    Action,
    And,
    Condition,
    DetoxPolicy,
    Not,
    PolicyLine,
    Predicate,
    ValueKind,
)
from dynamo.policy.variables import REGISTRY, Scope

__all__ = ["CompiledPolicy", "Decision", "compile_policy"]


class Decision(NamedTuple):
    """``action`` applies to ``block_replicas`` because of ``line``.

    Peeled subsets carry the block-level action (``ProtectBlock``...); the decision that ends an
    evaluation carries a dataset-level one and covers every block replica that was left.
    (A named tuple: millions are made per Detox pass, and it is cheaper than a dataclass.)
    """

    action: Action
    block_replicas: tuple[BlockReplica, ...]
    line: PolicyLine

    @property
    def is_partial(self) -> bool:
        return self.action.is_block_level


@dataclass(frozen=True, slots=True)
class _Line:
    """A compiled line: its conjuncts split by what they read, cheapest first.

    ``gate`` tests the ``dataset.name`` conjuncts (once per name), ``dataset_only`` the other
    conjuncts that read only the dataset (once per dataset and pass), ``residual`` those that
    read the replica or the site (and, on a dataset-level line, the blocks: "any block"), and
    ``block_pred`` the block conjuncts of a block-level line (once per block replica).
    """

    index: int
    line: PolicyLine
    action: Action
    block_level: bool
    gate: Callable[[str], bool] | None
    exact: str | None  # an exact dataset.name == literal among the name conjuncts
    dataset_only: Pred | None
    residual: Pred | None
    block_pred: Pred | None
    block_any: Pred | None  # block_pred on the whole frame, when that is a necessary test
    decided_by_dataset: bool = False  # not block-level, no residual: set in __post_init__
    decided_by_name: bool = False  # and no dataset-only conjunct either

    def __post_init__(self) -> None:
        by_dataset = not self.block_level and self.residual is None
        object.__setattr__(self, "decided_by_dataset", by_dataset)
        object.__setattr__(self, "decided_by_name", by_dataset and self.dataset_only is None)


def _is_name_conjunct(condition: Condition) -> bool:
    if isinstance(condition, Not):
        return _is_name_conjunct(condition.operand)
    return isinstance(condition, Predicate) and condition.variable == "dataset.name"


def _conjunction(parts: list[Condition], now: int) -> Pred | None:
    if not parts:
        return None
    return compile_condition(parts[0] if len(parts) == 1 else And(tuple(parts)), now)


def _compile_line(index: int, line: PolicyLine, now: int) -> _Line:
    condition = line.condition
    conjuncts = (
        []
        if condition is None
        else list(condition.operands if isinstance(condition, And) else [condition])
    )
    names = [c for c in conjuncts if _is_name_conjunct(c)]
    rest = [c for c in conjuncts if not _is_name_conjunct(c)]
    exact = next(
        (
            c.values[0].text
            for c in names
            if isinstance(c, Predicate)
            and c.operator == "=="
            and c.values[0].kind is ValueKind.TEXT
        ),
        None,
    )
    gate = None
    if names:
        frame_free = [_name_test(c, now) for c in names]
        gate = (
            frame_free[0]
            if len(frame_free) == 1
            else (lambda name: all(t(name) for t in frame_free))
        )
    dataset_scopes = {Scope.DATASET, Scope.CONSTANT}
    dataset_only = [c for c in rest if reads_scopes(c) <= dataset_scopes]
    on_blocks = [c for c in rest if Scope.BLOCK in reads_scopes(c)]
    others = [c for c in rest if c not in dataset_only and c not in on_blocks]
    block_level = line.action.is_block_level
    if not block_level:
        others, on_blocks = others + on_blocks, []
    return _Line(
        index=index,
        line=line,
        action=line.action,
        block_level=block_level,
        gate=gate,
        exact=exact,
        dataset_only=_conjunction(dataset_only, now),
        residual=_conjunction(others, now),
        block_pred=_conjunction(on_blocks, now),
        block_any=(
            _conjunction(on_blocks, now) if all(map(_any_is_necessary, on_blocks)) else None
        ),
    )


def _any_is_necessary(condition: Condition) -> bool:
    """Whether "true for some block replica" implies the condition holds on the whole frame.

    True without ``not`` over a compound or a comparison (extensions): the frame-level value of
    ``not (owner == X)`` is "no block owned by X", which some block can contradict.
    """
    if isinstance(condition, Predicate):
        return True
    if isinstance(condition, Not):
        operand = condition.operand
        return isinstance(operand, Predicate) and operand.operator is None
    return all(_any_is_necessary(c) for c in condition.operands)


def _name_test(condition: Condition, now: int) -> Callable[[str], bool]:
    if isinstance(condition, Not):
        inner = _name_test(condition.operand, now)
        return lambda name: not inner(name)
    assert isinstance(condition, Predicate)
    return compile_value_test(condition, now)


class CompiledPolicy:
    """A Detox policy compiled against ``now``: site tests, replica evaluation and order keys."""

    def __init__(self, policy: DetoxPolicy, now: int) -> None:
        self.policy = policy
        self.now = now
        self._on = [compile_condition(c, now) for c in policy.on]
        self._when = [compile_condition(c, now) for c in policy.when]
        self._until = [compile_condition(c, now) for c in policy.until]
        self._lines = [_compile_line(i, line, now) for i, line in enumerate(policy.lines)]
        self._ungated = tuple(line for line in self._lines if line.gate is None)
        self._by_exact: dict[str, list[_Line]] = {}
        self._gated_patterns: list[_Line] = []
        for line in self._lines:
            if line.exact is not None:
                self._by_exact.setdefault(line.exact, []).append(line)
            elif line.gate is not None:
                self._gated_patterns.append(line)
        self._plans: dict[str, tuple[_Line, ...]] = {}
        self._facts_key = f"detox-plan-{id(self)}"
        self._order = [(REGISTRY[k.variable], k.decreasing) for k in policy.order or ()]

    # ------------------------------------------------------------------ sites

    def _site_matches(
        self, preds: list[Pred], site: Site, usage: SitePartition | None, ctx: EvaluationContext
    ) -> bool:
        frame = Frame.of_site(ctx, site, usage)
        return any(pred(frame, None) for pred in preds)

    def is_target(self, site: Site, usage: SitePartition | None, ctx: EvaluationContext) -> bool:
        """Some ``On`` line matches the site."""
        return self._site_matches(self._on, site, usage, ctx)

    def is_triggered(self, site: Site, usage: SitePartition | None, ctx: EvaluationContext) -> bool:
        """Some ``When`` line matches: deletion is needed at the site."""
        return self._site_matches(self._when, site, usage, ctx)

    def is_done(self, site: Site, usage: SitePartition | None, ctx: EvaluationContext) -> bool:
        """Some ``Until`` line matches: deletion at the site can stop."""
        return self._site_matches(self._until, site, usage, ctx)

    # ------------------------------------------------------------------ replicas

    def plan(self, name: str) -> tuple[PolicyLine, ...]:
        """The lines a replica of dataset ``name`` can meet, in order (for lint and explain)."""
        return tuple(line.line for line in self._plan(name))

    def _plan(self, name: str) -> tuple[_Line, ...]:
        plan = self._plans.get(name)
        if plan is not None:
            return plan
        candidates = [
            line
            for line in self._by_exact.get(name, ())
            if line.gate is not None and line.gate(name)
        ]
        candidates += [
            line for line in self._gated_patterns if line.gate is not None and line.gate(name)
        ]
        candidates += self._ungated
        candidates.sort(key=lambda line: line.index)
        kept: list[_Line] = []
        for line in candidates:
            kept.append(line)
            if line.decided_by_name:
                break
        plan = self._plans[name] = tuple(kept)
        return plan

    def _dataset_plan(self, frame: Frame) -> tuple[_Line, ...]:
        """The name plan without the lines whose dataset-only conjuncts fail (cached per pass)."""
        assert frame.dataset is not None
        facts = frame.ctx.dataset_cache.get(frame.dataset.name)
        plan = None if facts is None else facts.get(self._facts_key)
        if plan is not None:
            return plan  # type: ignore[return-value]
        facts = frame.ctx.dataset_facts(frame.dataset)
        if plan is None:
            kept = []
            for line in self._plan(frame.dataset.name):
                dataset_only = line.dataset_only
                if dataset_only is not None and not dataset_only(frame, None):
                    continue
                kept.append(line)
                if line.decided_by_dataset:
                    break
            plan = facts[self._facts_key] = tuple(kept)
        return plan

    def evaluate(
        self,
        replica: DatasetReplica,
        ctx: EvaluationContext,
        block_replicas: list[BlockReplica] | None = None,
    ) -> tuple[Decision, ...]:
        """The decisions for ``replica``: peeled block-level subsets, then the final decision.

        With ``ctx.partition`` set, only the block replicas inside the partition are considered;
        a caller that has already listed them (in the replica's order) passes them as
        ``block_replicas``, a list the evaluation may replace but does not change.
        """
        frame = Frame.of_replica(ctx, replica, block_replicas)
        decisions: list[Decision] = []
        for line in self._dataset_plan(frame):
            residual = line.residual
            if not line.block_level:
                if residual is None or residual(frame, None):
                    decisions.append(Decision(line.action, tuple(frame.block_replicas), line.line))
                    return tuple(decisions)
                continue
            remaining = frame.block_replicas
            if not remaining or (residual is not None and not residual(frame, None)):
                continue
            block_any = line.block_any
            if block_any is not None and not block_any(frame, None):
                continue  # no block replica can match: cheaper than testing each one
            block_pred = line.block_pred
            matched = (
                remaining if block_pred is None else [b for b in remaining if block_pred(frame, b)]
            )
            if not matched:
                continue
            if len(matched) == len(remaining):
                decisions.append(Decision(line.action.dataset_level, tuple(matched), line.line))
                return tuple(decisions)
            decisions.append(Decision(line.action, tuple(matched), line.line))
            taken = {id(b) for b in matched}
            frame.block_replicas = [b for b in remaining if id(b) not in taken]
            frame.cache.clear()
        raise AssertionError("a policy always has a default decision")  # pragma: no cover

    def order_key(
        self,
        replica: DatasetReplica,
        ctx: EvaluationContext,
        block_replicas: list[BlockReplica] | None = None,
    ) -> tuple[float, ...]:
        """The deletion order key, sorted ascending: ``Order`` values, decreasing ones negated.
        ``block_replicas`` as for :meth:`evaluate`."""
        frame = Frame.of_replica(ctx, replica, block_replicas)
        return tuple(
            -float(v.get(frame)) if down else float(v.get(frame)) for v, down in self._order
        )


def compile_policy(policy: DetoxPolicy, *, now: int) -> CompiledPolicy:
    """Compile a parsed policy; time phrases are resolved against ``now`` (epoch seconds)."""
    return CompiledPolicy(policy, now)
