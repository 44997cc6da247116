"""A direct tree-walking evaluator of conditions: the reference the compiler is tested against.

Slow and simple on purpose; it shares only the variable getters with the compiler.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from dynamo.model import BlockReplica
from dynamo.policy.conditions import parse_number
from dynamo.policy.context import Frame
from dynamo.policy.nodes import And, Condition, Not, Predicate, Value, ValueKind
from dynamo.policy.timephrase import resolve_time
from dynamo.policy.variables import REGISTRY, Scope

__all__ = ["interpret"]


def _equals(actual: Any, value: Value, now: int, enum: Any) -> bool:
    kind = value.kind
    if kind is ValueKind.NULL:
        return actual is None
    if actual is None:
        return False
    if kind is ValueKind.GLOB:
        return fnmatch.fnmatchcase(actual, value.text)
    if kind is ValueKind.REGEX:
        return re.match(value.text, actual) is not None
    if kind is ValueKind.NUMBER:
        return bool(actual == parse_number(value.text))
    if kind is ValueKind.ENUM:
        return bool(actual == enum[value.text])
    return bool(actual == value.text)


def _holds(predicate: Predicate, actual: Any, now: int) -> bool:
    operator = predicate.operator
    enum = REGISTRY[predicate.variable].enum
    if operator is None:
        return bool(actual)
    if operator in ("==", "=~"):
        return _equals(actual, predicate.values[0], now, enum)
    if operator in ("!=", "!=~"):
        return not _equals(actual, predicate.values[0], now, enum)
    if operator == "in":
        return any(_equals(actual, v, now, enum) for v in predicate.values)
    if operator == "notin":
        return not any(_equals(actual, v, now, enum) for v in predicate.values)
    value = predicate.values[0]
    limit = (
        resolve_time(value.text, now) if value.kind is ValueKind.TIME else parse_number(value.text)
    )
    return bool(actual < limit) if operator in ("<", "older_than") else bool(actual > limit)


def _predicate(
    predicate: Predicate, frame: Frame, replica: BlockReplica | None, negate: bool
) -> bool:
    variable = REGISTRY[predicate.variable]
    now = frame.ctx.now
    if variable.scope is Scope.BLOCK:
        targets = [replica] if replica is not None else frame.block_replicas
        return any(_holds(predicate, variable.get(frame, each), now) != negate for each in targets)
    return _holds(predicate, variable.get(frame), now) != negate


def interpret(condition: Condition, frame: Frame, replica: BlockReplica | None = None) -> bool:
    """Evaluate ``condition`` on ``frame`` with time phrases resolved against ``frame.ctx.now``."""
    if isinstance(condition, Predicate):
        return _predicate(condition, frame, replica, False)
    if isinstance(condition, Not):
        operand = condition.operand
        if isinstance(operand, Predicate) and operand.operator is None:
            return _predicate(operand, frame, replica, True)
        return not interpret(operand, frame, replica)
    if isinstance(condition, And):
        return all(interpret(o, frame, replica) for o in condition.operands)
    return any(interpret(o, frame, replica) for o in condition.operands)
