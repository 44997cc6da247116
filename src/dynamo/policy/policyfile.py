"""The parser of Detox policy files (original-dynamo §3.3), line by line.

::

    file     := (blank | comment | statement)*        comment: first non-blank character '#'
    statement:= 'Partition' NAME
              | ('On' | 'When' | 'Until') site-condition
              | ('Protect' | 'Dismiss') [condition]     no condition: the default decision
              | ('Delete' | 'Ignore' | 'ProtectBlock' | 'DeleteBlock' | 'DismissBlock') condition
              | 'Order' ('none' | (('increasing' | 'decreasing') VARIABLE)+)
              | 'Algo' ('Static' | 'Iterative')

``#`` starts a comment only at the start of a line (block names contain ``#``). Old forms:
a missing ``Partition`` line and ``AlwaysDelete`` are accepted with a warning; ``Strategy``,
``Delete if``, ``When ... until ...`` and a bare ``Delete`` are rejected with what to write.
"""

from __future__ import annotations

import re

from dynamo.policy.conditions import Context, parse_condition
from dynamo.policy.errors import Diagnostic, PolicySyntaxError
from dynamo.policy.nodes import Action, Condition, DetoxPolicy, OrderKey, PolicyLine
from dynamo.policy.variables import REGISTRY, Scope, VarType, suggest

__all__ = ["KEYWORDS", "parse_policy", "significant_lines"]

KEYWORDS = (
    "Partition",
    "On",
    "When",
    "Until",
    "Protect",
    "Delete",
    "Dismiss",
    "Ignore",
    "ProtectBlock",
    "DeleteBlock",
    "DismissBlock",
    "Order",
    "Algo",
)
_WORD = re.compile(r"\S+")
_BARE_OK = (Action.PROTECT, Action.DISMISS)
_UNTIL_WORD = re.compile(r"\suntil\s")


def significant_lines(text: str) -> list[tuple[int, str]]:
    """(1-based number, line) of every line that is neither blank nor a comment."""
    found = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            found.append((number, line))
    return found


class _PolicyBuilder:
    def __init__(self, file: str, diagnostics: list[Diagnostic] | None) -> None:
        self.file = file
        self.diagnostics = diagnostics
        self.partition: str | None = None
        self.sites: dict[str, list[Condition]] = {"On": [], "When": [], "Until": []}
        self.lines: list[PolicyLine] = []
        self.order: tuple[OrderKey, ...] | None = None
        self.static = False
        self.last_line = 1

    def fail(
        self, message: str, number: int, source: str, col: int, expected: tuple[str, ...] = ()
    ) -> None:
        raise PolicySyntaxError(
            message, file=self.file, line=number, col=col, source_line=source, expected=expected
        )

    def warn(self, message: str, number: int, col: int) -> None:
        if self.diagnostics is not None:
            self.diagnostics.append(Diagnostic(self.file, number, col, message))

    def statement(self, number: int, source: str) -> None:
        self.last_line = number
        match = _WORD.search(source)
        assert match is not None
        keyword, col, rest = match[0], match.start() + 1, match.end()
        body = source[rest:].strip()
        body_start = rest + (len(source[rest:]) - len(source[rest:].lstrip()))
        if keyword == "AlwaysDelete":
            self.warn("AlwaysDelete is deprecated; read as Delete", number, col)
            keyword = "Delete"
        if keyword == "Partition":
            self._partition(number, source, col, body)
        elif keyword in self.sites:
            self._site(keyword, number, source, body_start, body)
        elif keyword in Action._value2member_map_:
            self._action(Action(keyword), number, source, col, body_start, body)
        elif keyword == "Order":
            self._order(number, source, body_start, body)
        elif keyword == "Algo":
            if body.lower() not in ("static", "iterative"):
                self.fail(
                    "unknown algorithm", number, source, body_start + 1, ("Static", "Iterative")
                )
            self.static = body.lower() == "static"
        elif keyword == "Strategy":
            self.fail(
                "`Strategy` was replaced: write `Algo Static` for a single pass and "
                "`Order increasing VARIABLE` for the order",
                number,
                source,
                col,
            )
        else:
            hint = suggest(keyword, list(KEYWORDS))
            self.fail(f"unknown keyword {keyword!r}{hint}", number, source, col, KEYWORDS)

    def _partition(self, number: int, source: str, col: int, body: str) -> None:
        if not body:
            self.fail(
                "`Partition` needs a partition name", number, source, len(source) + 1, ("a name",)
            )
        if self.partition is not None:
            self.fail("a second `Partition` line", number, source, col)
        self.partition = body

    def _site(self, keyword: str, number: int, source: str, start: int, body: str) -> None:
        if not body:
            self.fail(
                f"`{keyword}` needs a site condition",
                number,
                source,
                len(source) + 1,
                ("a condition",),
            )
        found = _UNTIL_WORD.search(source, start)
        if keyword == "When" and found:
            self.fail(
                "`When ... until ...` on one line is the old form: write `Until <condition>` "
                "on its own line",
                number,
                source,
                found.start() + 2,
            )
        condition = self._condition(source, start, number, Context.SITE)
        self.sites[keyword].append(condition)

    def _action(
        self, action: Action, number: int, source: str, col: int, start: int, body: str
    ) -> None:
        if action is Action.DELETE and re.match(r"if(\s|$)", body):
            self.fail(
                "`Delete if` is the pre-2016 form of `Dismiss`: write `Dismiss <condition>` "
                "(or `Delete <condition>` to delete regardless of the trigger)",
                number,
                source,
                start + 1,
            )
        if not body:
            if action not in _BARE_OK:
                self.fail(
                    f"`{action.value}` needs a condition "
                    "(only `Protect` and `Dismiss` are defaults)",
                    number,
                    source,
                    len(source) + 1,
                    ("a condition",),
                )
            self.lines.append(PolicyLine(action, None, number, source.strip()))
            return
        condition = self._condition(source, start, number, Context.REPLICA)
        self.lines.append(PolicyLine(action, condition, number, source.strip()))

    def _order(self, number: int, source: str, start: int, body: str) -> None:
        words = list(_WORD.finditer(source, start))
        if [w[0] for w in words] == ["none"]:
            self.order = ()
            return
        if not words:
            self.fail(
                "`Order` needs `none` or keys",
                number,
                source,
                len(source) + 1,
                ("none", "increasing", "decreasing"),
            )
        keys = []
        for index in range(0, len(words), 2):
            direction = words[index]
            if direction[0] not in ("increasing", "decreasing"):
                self.fail(
                    "expected a direction",
                    number,
                    source,
                    direction.start() + 1,
                    ("increasing", "decreasing"),
                )
            if index + 1 >= len(words):
                self.fail("expected a variable", number, source, len(source) + 1, ("a variable",))
            name = words[index + 1]
            variable = REGISTRY.get(name[0])
            if (
                variable is None
                or variable.scope is Scope.BLOCK
                or variable.type not in (VarType.NUMBER, VarType.TIME)
            ):
                hint = suggest(
                    name[0],
                    [v.name for v in REGISTRY.values() if v.type in (VarType.NUMBER, VarType.TIME)],
                )
                self.fail(
                    f"cannot order by {name[0]!r}: "
                    f"a numeric or time replica variable is needed{hint}",
                    number,
                    source,
                    name.start() + 1,
                )
            keys.append(OrderKey(name[0], direction[0] == "decreasing"))
        self.order = tuple(keys)

    def _condition(self, source: str, start: int, number: int, context: Context) -> Condition:
        return parse_condition(
            source,
            context=context,
            start=start,
            file=self.file,
            line=number,
            diagnostics=self.diagnostics,
        )

    def build(self, first_line: int) -> DetoxPolicy:
        for keyword, found in self.sites.items():
            if not found:
                self.fail(f"the policy has no `{keyword}` line", self.last_line, "", 1, (keyword,))
        if not any(line.condition is None for line in self.lines):
            self.fail(
                "the policy has no default decision: add a bare `Protect` or `Dismiss` line",
                self.last_line,
                "",
                1,
                ("Protect", "Dismiss"),
            )
        if self.partition is None:
            self.warn(
                "no `Partition` line (an old file): the caller must name the partition; "
                "add `Partition NAME`",
                first_line,
                1,
            )
        return DetoxPolicy(
            partition=self.partition,
            on=tuple(self.sites["On"]),
            when=tuple(self.sites["When"]),
            until=tuple(self.sites["Until"]),
            lines=tuple(self.lines),
            order=self.order,
            static=self.static,
            file=self.file,
        )


def parse_policy(
    text: str, *, file: str = "<string>", diagnostics: list[Diagnostic] | None = None
) -> DetoxPolicy:
    """Parse a Detox policy file.

    Every line is parsed even after a bad one, so the PolicySyntaxError raised names every bad
    line (the first, with the others in ``more``); checks of the whole file (a missing default,
    ...) run only when every line parsed.
    """
    builder = _PolicyBuilder(file, diagnostics)
    lines = significant_lines(text)
    errors: list[PolicySyntaxError] = []
    for number, source in lines:
        try:
            builder.statement(number, source)
        except PolicySyntaxError as exc:
            errors.append(exc)
    if errors:
        raise PolicySyntaxError.of_all(errors)
    return builder.build(lines[0][0] if lines else 1)
