"""Conditions compiled to closures ``pred(frame, block_replica_or_None) -> bool``.

Called with a block replica, block-level variables read that block replica; called with None on a
dataset replica frame, a block-level predicate means "any of the frame's block replicas" (the
original's OR over elements, including for ``!=`` and ``not <boolean>``). ``not`` before anything
else than a boolean variable is an extension and negates the whole operand.
Time phrases are resolved once, against the ``now`` given to the compiler.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from dynamo.model import BlockReplica
from dynamo.policy.conditions import parse_number
from dynamo.policy.context import Frame
from dynamo.policy.nodes import And, Condition, Not, Or, Predicate, Value, ValueKind
from dynamo.policy.timephrase import resolve_time
from dynamo.policy.variables import REGISTRY, Scope, VarType

__all__ = ["Pred", "compile_condition", "compile_value_test", "reads_scopes", "variables_of"]

Pred = Callable[[Frame, BlockReplica | None], bool]
Test = Callable[[Any], bool]


def variables_of(condition: Condition) -> list[str]:
    """Every variable name the condition reads, in order of appearance (with repeats)."""
    match condition:
        case Predicate(variable=variable):
            return [variable]
        case Not(operand=operand):
            return variables_of(operand)
        case And(operands=operands) | Or(operands=operands):
            return [name for operand in operands for name in variables_of(operand)]
    raise TypeError(condition)  # pragma: no cover


def reads_scopes(condition: Condition) -> set[Scope]:
    return {REGISTRY[name].scope for name in variables_of(condition)}


def _scalar_test(kind: VarType, operator: str, value: Value, now: int) -> Test:
    """The test of one right-hand side; ``operator`` is never ``in``/``notin`` here."""
    text = value.text
    if value.kind is ValueKind.NULL:
        return (lambda v: v is None) if operator == "==" else (lambda v: v is not None)
    if value.kind in (ValueKind.GLOB, ValueKind.REGEX):
        pattern = re.compile(fnmatch.translate(text) if value.kind is ValueKind.GLOB else text)
        match = pattern.match
        needed = _glob_literal(text) if value.kind is ValueKind.GLOB else ""
        if needed:  # a substring test rules most names out before the pattern runs
            if operator in ("==", "=~"):
                return lambda v: v is not None and needed in v and match(v) is not None
            return lambda v: v is None or needed not in v or match(v) is None
        if operator in ("==", "=~"):
            return lambda v: v is not None and match(v) is not None
        return lambda v: v is None or match(v) is None
    literal: Any
    if value.kind is ValueKind.TEXT:
        literal = text
    elif value.kind is ValueKind.NUMBER:
        literal = parse_number(text)
    elif value.kind is ValueKind.TIME:
        literal = resolve_time(text, now)
    else:  # pragma: no cover - enumerations are handled by compile_value_test
        raise AssertionError(value)
    if operator == "==":
        return lambda v: v == literal
    if operator == "!=":
        return lambda v: v != literal
    if operator in ("<", "older_than"):
        return lambda v: v < literal
    return lambda v: v > literal


def _glob_literal(glob: str) -> str:
    """The longest piece of ``glob`` that every match contains ("" if none is certain)."""
    if any(c in glob for c in "?[]\\"):
        return ""
    return max(glob.split("*"), key=len)


def compile_value_test(predicate: Predicate, now: int) -> Test:
    """The test a predicate applies to its variable's value (True for a bare boolean)."""
    variable = REGISTRY[predicate.variable]
    operator = predicate.operator
    if operator is None:
        return bool
    if variable.enum is not None and predicate.values:
        tests = [
            _enum_test(variable.enum[v.text], "==" if operator in ("in", "notin") else operator)
            for v in predicate.values
        ]
    else:
        scalar_operator = "==" if operator in ("in", "notin") else operator
        tests = [_scalar_test(variable.type, scalar_operator, v, now) for v in predicate.values]
    if operator == "in":
        return _any_of(tests)
    if operator == "notin":
        any_test = _any_of(tests)
        return lambda v: not any_test(v)
    return tests[0]


def _enum_test(literal: int, operator: str) -> Test:
    if operator == "==":
        return lambda v: v == literal
    return lambda v: v != literal


def _any_of(tests: list[Test]) -> Test:
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _compile_predicate(predicate: Predicate, now: int, *, negate: bool = False) -> Pred:
    variable = REGISTRY[predicate.variable]
    test = compile_value_test(predicate, now)
    if negate:
        inner_test = test
        test = lambda v: not inner_test(v)  # noqa: E731
    get = variable.get
    if variable.scope is Scope.BLOCK and predicate.operator is None:
        return _bare_block_predicate(get, negate, None if negate else variable.hint)
    if (
        predicate.variable == "blockreplica.owner"
        and predicate.operator == "=="
        and predicate.values[0].kind is ValueKind.TEXT
    ):
        owner = predicate.values[0].text
        if owner:

            def owned(frame: Frame, replica: BlockReplica | None) -> bool:
                if replica is not None:
                    return replica.group.name == owner
                return any(each.group.name == owner for each in frame.block_replicas)

            return owned
    if variable.scope is Scope.BLOCK:

        def block_pred(frame: Frame, replica: BlockReplica | None) -> bool:
            if replica is not None:
                return test(get(frame, replica))
            return any(test(get(frame, each)) for each in frame.block_replicas)

        return block_pred
    is_name = predicate.variable == "dataset.name" and predicate.operator == "=="
    if is_name and predicate.values[0].kind is ValueKind.TEXT:
        literal = predicate.values[0].text
        return lambda frame, _replica: frame.dataset.name == literal  # type: ignore[union-attr]
    comparison = _inline_comparison(predicate, now, get)
    if comparison is not None:
        return comparison
    return lambda frame, _replica: test(get(frame))


def _inline_comparison(predicate: Predicate, now: int, get: Callable[[Frame], Any]) -> Pred | None:
    """``get(frame) OP literal`` without an intermediate test call, for plain scalar values."""
    operator = predicate.operator
    if operator not in ("==", "!=", "<", ">", "older_than", "newer_than"):
        return None
    value = predicate.values[0]
    variable = REGISTRY[predicate.variable]
    literal: Any
    if value.kind is ValueKind.NUMBER:
        literal = parse_number(value.text)
    elif value.kind is ValueKind.TIME:
        literal = resolve_time(value.text, now)
    elif value.kind is ValueKind.ENUM and variable.enum is not None:
        literal = variable.enum[value.text]
    else:
        return None
    if operator == "==":
        return lambda frame, _r: bool(get(frame) == literal)
    if operator == "!=":
        return lambda frame, _r: bool(get(frame) != literal)
    if operator in ("<", "older_than"):
        return lambda frame, _r: bool(get(frame) < literal)
    return lambda frame, _r: bool(get(frame) > literal)


def _bare_block_predicate(
    get: Callable[[Frame, BlockReplica], Any], negate: bool, hint: Callable[[Frame], bool] | None
) -> Pred:
    """A block-level boolean without a value test: one call per block replica.

    ``hint`` is a cheap per-frame necessary condition: when it is False, no block replica of
    the frame can satisfy the predicate, so none is looked at.
    """
    if negate:

        def negated(frame: Frame, replica: BlockReplica | None) -> bool:
            if replica is not None:
                return not get(frame, replica)
            return not all(get(frame, each) for each in frame.block_replicas)

        return negated

    def asserted(frame: Frame, replica: BlockReplica | None) -> bool:
        if replica is not None:
            return bool(get(frame, replica))
        return any(get(frame, each) for each in frame.block_replicas)

    if hint is None:
        return asserted

    def hinted(frame: Frame, replica: BlockReplica | None) -> bool:
        if not hint(frame):
            return False
        return asserted(frame, replica)

    return hinted


def compile_condition(condition: Condition, now: int) -> Pred:
    """A closure equivalent to :func:`dynamo.policy.interpreter.interpret` on ``condition``."""
    match condition:
        case Predicate():
            return _compile_predicate(condition, now)
        case Not(operand=Predicate(operator=None) as operand):
            return _compile_predicate(operand, now, negate=True)
        case Not(operand=operand):
            inner = compile_condition(operand, now)
            return lambda frame, replica: not inner(frame, replica)
        case And(operands=operands):
            parts = [compile_condition(o, now) for o in operands]
            if len(parts) == 2:
                first, second = parts
                return lambda frame, replica: first(frame, replica) and second(frame, replica)
            return lambda frame, replica: all(part(frame, replica) for part in parts)
        case Or(operands=operands):
            parts = [compile_condition(o, now) for o in operands]
            return lambda frame, replica: any(part(frame, replica) for part in parts)
    raise TypeError(condition)  # pragma: no cover
