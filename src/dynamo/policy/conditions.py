"""The recursive-descent parser of conditions.

The original grammar is a conjunction of predicates; ``or``, parentheses and ``not`` before any
predicate are extensions, so a condition that uses none of them means what it always meant::

    condition  := conjunct ('or' conjunct)*
    conjunct   := unary ('and' unary)*
    unary      := 'not' unary | '(' condition ')' | predicate
    predicate  := VARIABLE [comparison]
    comparison := ('==' | '!=' | '=~' | '!=~' | '<' | '>' | 'older_than' | 'newer_than') VALUE
                | ('in' | 'notin') '[' ELEMENT* ']'

A VALUE runs to the next ``and``/``or`` word, so it may contain spaces (``IB RelVal``). Its
meaning follows the variable's type: a glob when a TEXT value contains ``*`` or ``?``, a regex
after ``=~``, an enumeration name, a number (optionally with a size unit, ``2TB``) or a time
phrase (:mod:`dynamo.policy.timephrase`).
"""

from __future__ import annotations

import re
from enum import StrEnum

from dynamo.policy.errors import Diagnostic, UnknownVariableError
from dynamo.policy.nodes import And, Condition, Not, Or, Predicate, Value, ValueKind
from dynamo.policy.scanner import Scanner
from dynamo.policy.timephrase import TimePhraseError, validate_time_phrase
from dynamo.policy.variables import DEPRECATED, REGISTRY, Scope, Variable, VarType, suggest

__all__ = ["Context", "parse_condition", "parse_number"]


class Context(StrEnum):
    """Where a condition stands: on replicas (policy lines, partitions) or on sites."""

    REPLICA = "replica"
    SITE = "site"


_OPERATORS_BY_TYPE = {
    VarType.BOOL: (),
    VarType.NUMBER: ("==", "!=", "<", ">", "in", "notin"),
    VarType.TEXT: ("==", "!=", "=~", "!=~", "in", "notin"),
    VarType.TIME: ("<", ">", "older_than", "newer_than"),
    VarType.ENUM: ("==", "!=", "in", "notin"),
}
_UNITS = {"": 1, "B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15}
_NUMBER = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)")


def parse_number(text: str) -> float:
    """``0.9``, ``100``, ``1.5e3``, ``2TB`` (decimal size units) as a float; ValueError if not."""
    match = _NUMBER.fullmatch(text)
    if match is None or match[2] not in _UNITS:
        raise ValueError(text)
    return float(match[1]) * _UNITS[match[2]]


def parse_condition(
    source: str,
    *,
    context: Context = Context.REPLICA,
    start: int = 0,
    file: str = "<string>",
    line: int = 1,
    diagnostics: list[Diagnostic] | None = None,
) -> Condition:
    """Parse the condition in ``source[start:]`` (PolicySyntaxError on bad text).

    Deprecated variable names are mapped to today's and reported in ``diagnostics``.
    """
    parser = _Parser(Scanner(source, start, file=file, line=line), context, diagnostics)
    condition = parser.condition(in_parens=False)
    if not parser.scanner.at_end():
        parser.scanner.fail("unexpected text after the condition", expected=("'and'", "'or'"))
    return condition


class _Parser:
    def __init__(
        self, scanner: Scanner, context: Context, diagnostics: list[Diagnostic] | None
    ) -> None:
        self.scanner = scanner
        self.context = context
        self.diagnostics = diagnostics

    def condition(self, *, in_parens: bool) -> Condition:
        """condition := conjunct ('or' conjunct)*"""
        operands = [self.conjunct(in_parens=in_parens)]
        while self.scanner.peek_connective() == "or":
            self.scanner.take_word("or")
            operands.append(self.conjunct(in_parens=in_parens))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunct(self, *, in_parens: bool) -> Condition:
        """conjunct := unary ('and' unary)*"""
        operands = [self.unary(in_parens=in_parens)]
        while self.scanner.peek_connective() == "and":
            self.scanner.take_word("and")
            operands.append(self.unary(in_parens=in_parens))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, *, in_parens: bool) -> Condition:
        """unary := 'not' unary | '(' condition ')' | predicate"""
        scanner = self.scanner
        if scanner.take_word("not"):
            return Not(self.unary(in_parens=in_parens))
        if scanner.peek_char() == "(":
            opened = scanner.col
            scanner.take_char("(")
            inner = self.condition(in_parens=True)
            if not scanner.take_char(")"):
                scanner.fail("unclosed '(': expected ')'", col=opened, expected=("')'",))
            return inner
        return self.predicate(in_parens=in_parens)

    def predicate(self, *, in_parens: bool) -> Predicate:
        """predicate := VARIABLE [comparison]"""
        scanner = self.scanner
        scanner.skip_space()
        col = scanner.col
        name = scanner.take_name()
        if name is None:
            scanner.fail("expected a variable", expected=("a variable", "'not'", "'('"))
        variable = self._variable(name, col)
        ends = scanner.at_end() or scanner.peek_connective() is not None
        if ends or (in_parens and scanner.peek_char() == ")"):
            if variable.type is not VarType.BOOL:
                scanner.fail(
                    f"{variable.name} is a {variable.type.value} variable: it needs an operator",
                    expected=_OPERATORS_BY_TYPE[variable.type],
                )
            return Predicate(variable.name, None, (), col)
        op_col = scanner.col
        if variable.type is VarType.BOOL:
            scanner.fail(
                f"{variable.name} is boolean: write `{variable.name}` or `not {variable.name}`",
                expected=("'and'", "'or'", "end of condition"),
            )
        if scanner.take_word("not"):
            scanner.fail("`not in` is not an operator: write `notin [...]`", col=op_col)
        operator = scanner.take_operator()
        allowed = _OPERATORS_BY_TYPE[variable.type]
        if operator is None or operator not in allowed:
            what = "an operator" if operator is None else f"operator {operator!r}"
            scanner.fail(f"{what} is not valid for {variable.name}", col=op_col, expected=allowed)
        if operator in ("in", "notin"):
            if not scanner.take_char("["):
                scanner.fail(
                    f"`{operator}` takes a bracketed list: write `{operator} [A B C]`",
                    expected=("'['",),
                )
            elements = scanner.take_list()
            values = tuple(self._value(variable, "==", text, at) for text, at in elements)
            return Predicate(variable.name, operator, values, col)
        scanner.skip_space()
        value_col = scanner.col
        text = scanner.take_value(in_parens=in_parens)
        if not text:
            scanner.fail(f"expected a value after {operator!r}", expected=("a value",))
        return Predicate(
            variable.name, operator, (self._value(variable, operator, text, value_col),), col
        )

    def _variable(self, name: str, col: int) -> Variable:
        scanner = self.scanner
        deprecation = DEPRECATED.get(name)
        if deprecation is not None:
            if deprecation.replacement is None:
                scanner.fail(f"{name} no longer exists: {deprecation.advice}", col=col)
            if self.diagnostics is not None:
                self.diagnostics.append(
                    Diagnostic(
                        scanner.file,
                        scanner.line,
                        col,
                        f"{name} is deprecated; read as {deprecation.replacement}",
                    )
                )
            name = deprecation.replacement
        variable = REGISTRY.get(name)
        allowed = [
            v.name
            for v in REGISTRY.values()
            if self.context is Context.REPLICA or v.scope in (Scope.SITE, Scope.CONSTANT)
        ]
        if variable is None:
            raise UnknownVariableError(
                f"unknown variable {name!r}{suggest(name, allowed)}",
                file=scanner.file,
                line=scanner.line,
                col=col,
                source_line=scanner.source,
            )
        if variable.name not in allowed or (self.context is Context.REPLICA and variable.site_only):
            where = "a site condition" if self.context is Context.SITE else "a replica condition"
            scanner.fail(f"{variable.name} cannot be used in {where}", col=col)
        return variable

    def _value(self, variable: Variable, operator: str, text: str, col: int) -> Value:
        scanner = self.scanner
        kind = variable.type
        if kind is VarType.TEXT:
            if operator in ("=~", "!=~"):
                try:
                    re.compile(text)
                except re.error as exc:
                    scanner.fail(f"bad regular expression: {exc}", col=col)
                return Value(ValueKind.REGEX, text, col)
            if variable.nullable and text == "None":
                return Value(ValueKind.NULL, text, col)
            is_glob = "*" in text or "?" in text
            return Value(ValueKind.GLOB if is_glob else ValueKind.TEXT, text, col)
        if kind is VarType.NUMBER:
            try:
                parse_number(text)
            except ValueError:
                scanner.fail(f"{variable.name} needs a number, not {text!r}", col=col)
            return Value(ValueKind.NUMBER, text, col)
        if kind is VarType.TIME:
            try:
                validate_time_phrase(text)
            except TimePhraseError as exc:
                scanner.fail(f"bad time phrase: {exc}", col=col)
            return Value(ValueKind.TIME, text, col)
        assert variable.enum is not None
        name = text.upper()
        if name not in variable.enum:
            scanner.fail(
                f"{text!r} is not a value of {variable.name}",
                col=col,
                expected=tuple(variable.enum),
            )
        return Value(ValueKind.ENUM, name, col)
