"""Static checks of a Detox policy beyond syntax (``dynamo policy lint``).

Reported as warnings: duplicate lines, lines shadowed by an earlier line (every replica they
could decide is decided earlier), lines that can never match (``never`` in a conjunction), and
lines after the default decision. Shadowing is checked soundly but not completely: an earlier
dataset-level line shadows a later one when each of its conjuncts appears in the later line or
is a ``dataset.name`` pattern that the later line's exact name matches.
"""

from __future__ import annotations

import fnmatch
import re

from dynamo.policy.errors import Diagnostic
from dynamo.policy.formatting import format_condition
from dynamo.policy.nodes import And, Condition, DetoxPolicy, PolicyLine, Predicate, ValueKind

__all__ = ["lint_policy"]


def _conjuncts(condition: Condition | None) -> list[Condition]:
    if condition is None:
        return []
    return list(condition.operands) if isinstance(condition, And) else [condition]


def _exact_name(conjuncts: list[Condition]) -> str | None:
    for c in conjuncts:
        if (
            isinstance(c, Predicate)
            and c.variable == "dataset.name"
            and c.operator == "=="
            and c.values[0].kind is ValueKind.TEXT
        ):
            return c.values[0].text
    return None


def _covers(earlier: Condition, later: list[Condition], name: str | None) -> bool:
    """Every replica satisfying all of ``later`` satisfies ``earlier``."""
    if earlier in later:
        return True
    if name is None or not isinstance(earlier, Predicate) or earlier.variable != "dataset.name":
        return False
    values = earlier.values
    if earlier.operator in ("==", "in"):
        return any(_name_matches(name, v.kind, v.text) for v in values)
    if earlier.operator == "=~":
        return re.match(values[0].text, name) is not None
    return False


def _name_matches(name: str, kind: ValueKind, text: str) -> bool:
    if kind is ValueKind.GLOB:
        return fnmatch.fnmatchcase(name, text)
    return name == text


def _is_never(conjuncts: list[Condition]) -> bool:
    return any(isinstance(c, Predicate) and c.variable == "never" for c in conjuncts)


def lint_policy(policy: DetoxPolicy) -> list[Diagnostic]:
    """Warnings about the action lines of ``policy``, in line order."""
    found: list[Diagnostic] = []
    seen: dict[tuple[str, str], int] = {}
    # earlier dataset-level lines that can shadow: by exact name, and those without one
    by_name: dict[str, list[tuple[PolicyLine, list[Condition]]]] = {}
    unnamed: list[tuple[PolicyLine, list[Condition]]] = []
    default: PolicyLine | None = None

    def warn(line: PolicyLine, message: str) -> None:
        found.append(Diagnostic(policy.file, line.number, 1, message))

    for line in policy.lines:
        conjuncts = _conjuncts(line.condition)
        text = "" if line.condition is None else format_condition(line.condition)
        key = (line.action.value, text)
        if default is not None:
            warn(line, f"unreachable: after the default decision on line {default.number}")
            continue
        if key in seen:
            warn(line, f"duplicate of line {seen[key]}")
            continue
        seen[key] = line.number
        if _is_never(conjuncts):
            warn(line, "never matches: the condition contains `never`")
        name = _exact_name(conjuncts)
        candidates = [*by_name.get(name, ()), *unnamed] if name is not None else unnamed
        for previous, previous_conjuncts in sorted(candidates, key=lambda c: c[0].number):
            if all(_covers(c, conjuncts, name) for c in previous_conjuncts):
                warn(line, f"shadowed by line {previous.number}: {previous.text}")
                break
        is_always = all(isinstance(c, Predicate) and c.variable == "always" for c in conjuncts)
        if is_always and not line.action.is_block_level:
            default = line  # a bare line, or one that reads only `always`
        if conjuncts and not line.action.is_block_level:
            if name is None:
                unnamed.append((line, conjuncts))
            else:
                by_name.setdefault(name, []).append((line, conjuncts))
    return found
