"""Text of syntax trees: the inverse of the parsers, up to layout and comments.

``parse_condition(format_condition(c)) == c`` and ``parse_policy(format_policy(p)) == p``.
Parentheses are written only where the tree needs them (``or`` inside ``and``, a compound
operand of ``not``).
"""

from __future__ import annotations

from dynamo.policy.nodes import And, Condition, DetoxPolicy, Not, Or, PolicyLine, Predicate

__all__ = ["format_condition", "format_line", "format_policy"]


def format_condition(condition: Condition) -> str:
    match condition:
        case Predicate(variable=variable, operator=None):
            return variable
        case Predicate(variable=variable, operator=("in" | "notin") as operator, values=values):
            return f"{variable} {operator} [{' '.join(v.text for v in values)}]"
        case Predicate(variable=variable, operator=operator, values=values):
            return f"{variable} {operator} {values[0].text}"
        case Not(operand=operand):
            inner = format_condition(operand)
            return f"not {inner}" if isinstance(operand, Predicate | Not) else f"not ({inner})"
        case And(operands=operands):
            return " and ".join(
                f"({format_condition(o)})" if isinstance(o, Or | And) else format_condition(o)
                for o in operands
            )
        case Or(operands=operands):
            return " or ".join(
                f"({format_condition(o)})" if isinstance(o, Or) else format_condition(o)
                for o in operands
            )
    raise TypeError(condition)  # pragma: no cover


def format_line(line: PolicyLine) -> str:
    if line.condition is None:
        return line.action.value
    return f"{line.action.value} {format_condition(line.condition)}"


def format_policy(policy: DetoxPolicy) -> str:
    out: list[str] = []
    if policy.partition is not None:
        out.append(f"Partition {policy.partition}")
    out += [f"On {format_condition(c)}" for c in policy.on]
    out += [f"When {format_condition(c)}" for c in policy.when]
    out += [f"Until {format_condition(c)}" for c in policy.until]
    out += [format_line(line) for line in policy.lines]
    if policy.order is not None:
        keys = " ".join(
            f"{'decreasing' if k.decreasing else 'increasing'} {k.variable}" for k in policy.order
        )
        out.append(f"Order {keys or 'none'}")
    if policy.static:
        out.append("Algo Static")
    return "\n".join(out) + "\n"
