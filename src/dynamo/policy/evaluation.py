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


@dataclass(frozen=True, slots=True)
class Decision:
    """``action`` applies to ``block_replicas`` because of ``line``.

    Peeled subsets carry the block-level action (``ProtectBlock``...); the decision that ends an
    evaluation carries a dataset-level one and covers every block replica that was left.
    """

    action: Action
    block_replicas: tuple[BlockReplica, ...]
    line: PolicyLine

    @property
    def is_partial(self) -> bool:
        return self.action.is_block_level


@dataclass(frozen=True, slots=True)
class _Line:
    index: int
    line: PolicyLine
    action: Action
    gate: Callable[[str], bool] | None  # the dataset.name conjuncts
    exact: str | None  # an exact dataset.name == literal among them
    dataset_pred: Pred | None  # conjuncts that read no block replica
    block_pred: Pred | None  # conjuncts that do (block-level lines only)

    @property
    def decided_by_name(self) -> bool:
        return self.dataset_pred is None and self.block_pred is None


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
    on_blocks = [c for c in rest if Scope.BLOCK in reads_scopes(c)]
    if line.action.is_block_level:
        dataset_part = [c for c in rest if c not in on_blocks]
        return _Line(
            index,
            line,
            line.action,
            gate,
            exact,
            _conjunction(dataset_part, now),
            _conjunction(on_blocks, now),
        )
    ordered = [c for c in rest if c not in on_blocks] + on_blocks
    return _Line(index, line, line.action, gate, exact, _conjunction(ordered, now), None)


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
            if line.decided_by_name and not line.action.is_block_level:
                break
        plan = self._plans[name] = tuple(kept)
        return plan

    def evaluate(self, replica: DatasetReplica, ctx: EvaluationContext) -> tuple[Decision, ...]:
        """The decisions for ``replica``: peeled block-level subsets, then the final decision."""
        frame = Frame.of_replica(ctx, replica)
        decisions: list[Decision] = []
        for line in self._plan(replica.dataset.name):
            dataset_pred = line.dataset_pred
            if not line.action.is_block_level:
                if dataset_pred is None or dataset_pred(frame, None):
                    decisions.append(Decision(line.action, tuple(frame.block_replicas), line.line))
                    return tuple(decisions)
                continue
            remaining = frame.block_replicas
            if not remaining or (dataset_pred is not None and not dataset_pred(frame, None)):
                continue
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

    def order_key(self, replica: DatasetReplica, ctx: EvaluationContext) -> tuple[float, ...]:
        """The deletion order key, sorted ascending: ``Order`` values, decreasing ones negated."""
        frame = Frame.of_replica(ctx, replica)
        return tuple(
            -float(v.get(frame)) if down else float(v.get(frame)) for v, down in self._order
        )


def compile_policy(policy: DetoxPolicy, *, now: int) -> CompiledPolicy:
    """Compile a parsed policy; time phrases are resolved against ``now`` (epoch seconds)."""
    return CompiledPolicy(policy, now)
