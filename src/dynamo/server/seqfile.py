"""The scheduler's sequence files, in the format of the original's ``cms.seq``.

Grammar (one construct per line; blank lines and lines starting with ``#`` are ignored)::

    definition := ("<" TITLE ">" | "{" TITLE "}") "=" PATH
    header     := "[SEQUENCE" NAME "]" ["restart"]
    step       := CRITICALITY ["[" HOURS "]"] ("<" TITLE ">" | "{" TITLE "}") [ARGUMENTS]
                | "WAIT" EXPRESSION
                | "TERMINATE"
    CRITICALITY := "^" (restart the sequence) | "&" (retry the line) | "|" (continue)

``<title>`` defines a write-enabled application, ``{title}`` one that cannot write. In a step,
``<title>`` runs the application in write mode (it must be defined with ``<>``) and ``{title}``
runs it read-only, whichever brackets defined it. ``HOURS`` is the step's time limit;
``EXPRESSION`` is arithmetic on numbers (``+ - * / // ( )``) giving seconds, evaluated here
without ``eval``. ``ARGUMENTS`` are split as by a POSIX shell (quotes, no expansion).

The PATH of a definition is recorded but never executed: titles name applications registered
in code (:mod:`dynamo.server.applications`). Every error is a :class:`SequenceSyntaxError` that
names ``FILE:LINE:COL`` (both 1-based).
"""

from __future__ import annotations

import ast
import operator
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final, TypeAlias

from dynamo.errors import ConfigurationError

__all__ = [
    "Criticality",
    "Definition",
    "Execute",
    "Location",
    "Sequence",
    "SequenceFile",
    "SequenceSyntaxError",
    "Step",
    "Terminate",
    "Wait",
    "load_sequences",
    "parse_sequences",
]


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a sequence file; prints as ``FILE:LINE:COL``."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class SequenceSyntaxError(ConfigurationError):
    """A sequence file that cannot be used; ``where`` is the offending place."""

    code = "sequence_syntax"

    def __init__(self, where: Location, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")


class Criticality(StrEnum):
    """What a failed step does to its sequence."""

    RESTART = "^"
    RETRY = "&"
    CONTINUE = "|"


@dataclass(frozen=True, slots=True)
class Definition:
    title: str
    path: str
    writes: bool
    where: Location


@dataclass(frozen=True, slots=True)
class Execute:
    title: str
    writes: bool
    argv: tuple[str, ...]
    criticality: Criticality
    timeout_hours: float | None
    where: Location


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: float
    where: Location


@dataclass(frozen=True, slots=True)
class Terminate:
    where: Location


Step: TypeAlias = Execute | Wait | Terminate


@dataclass(frozen=True, slots=True)
class Sequence:
    name: str
    restart: bool
    steps: tuple[Step, ...]
    where: Location


@dataclass(frozen=True, slots=True)
class SequenceFile:
    path: str
    definitions: dict[str, Definition]
    sequences: dict[str, Sequence]


_TITLE = r"[A-Za-z0-9_.\-]+"
_DEFINITION: Final = re.compile(
    rf"(?P<open>[<{{])(?P<title>{_TITLE})(?P<close>[>}}])\s*=\s*(?P<path>.*)$"
)
_HEADER: Final = re.compile(r"\[SEQUENCE\s+(?P<name>[^\]\s]+)\s*\](?P<rest>.*)$")
_STEP: Final = re.compile(
    rf"(?P<crit>[\^&|])(?:\[(?P<hours>[^\]]*)\])?\s+"
    rf"(?P<open>[<{{])(?P<title>{_TITLE})(?P<close>[>}}])(?P<args>.*)$"
)
_WAIT: Final = re.compile(r"WAIT(?:\s+(?P<expr>.*))?$")


def load_sequences(path: Path) -> SequenceFile:
    """Parse the sequence file at ``path`` (ConfigurationError if unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read the sequence file: {exc}") from exc
    return parse_sequences(text, str(path))


def parse_sequences(text: str, path: str = "<string>") -> SequenceFile:
    """Parse sequence-file ``text``; ``path`` is only used in error locations."""
    parser = _Parser(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        parser.line(number, raw)
    return parser.finish()


class _Parser:
    def __init__(self, path: str) -> None:
        self.path = path
        self.definitions: dict[str, Definition] = {}
        self.sequences: dict[str, Sequence] = {}
        self.current: tuple[str, bool, Location, list[Step]] | None = None

    def at(self, number: int, column: int) -> Location:
        return Location(self.path, number, column)

    def line(self, number: int, raw: str) -> None:
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            return
        col = len(raw) - len(raw.lstrip()) + 1  # 1-based column of the first character
        if match := _DEFINITION.match(stripped):
            self.definition(match, number, col)
        elif match := _HEADER.match(stripped):
            self.header(match, number, col)
        elif self.current is None:
            raise SequenceSyntaxError(
                self.at(number, col),
                "expected an application definition (<title> = path or {title} = path) "
                "or a [SEQUENCE name] header",
            )
        else:
            self.current[3].append(self.step(stripped, number, col))

    def definition(self, match: re.Match[str], number: int, col: int) -> None:
        self.check_brackets(match, number, col)
        title = match["title"]
        if not match["path"].strip():
            raise SequenceSyntaxError(self.at(number, col + match.start("path")), "missing path")
        if title in self.definitions:
            first = self.definitions[title].where
            raise SequenceSyntaxError(
                self.at(number, col + match.start("title")),
                f"application {title!r} is already defined at {first}",
            )
        writes = match["open"] == "<"
        where = self.at(number, col)
        self.definitions[title] = Definition(title, match["path"].strip(), writes, where)

    def header(self, match: re.Match[str], number: int, col: int) -> None:
        self.close_sequence()
        name = match["name"]
        rest = match["rest"].strip()
        if rest not in ("", "restart"):
            column = col + match.start("rest") + (len(match["rest"]) - len(match["rest"].lstrip()))
            raise SequenceSyntaxError(
                self.at(number, column),
                f"expected 'restart' or nothing after the header, not {rest!r}",
            )
        if name in self.sequences:
            raise SequenceSyntaxError(
                self.at(number, col + match.start("name")),
                f"sequence {name!r} is already defined at {self.sequences[name].where}",
            )
        self.current = (name, rest == "restart", self.at(number, col), [])

    def step(self, text: str, number: int, col: int) -> Step:
        if text == "TERMINATE":
            return Terminate(self.at(number, col))
        if match := _WAIT.match(text):
            expr = match["expr"] or ""
            column = col + (match.start("expr") if match["expr"] is not None else len(text))
            seconds = _evaluate_seconds(
                expr, lambda msg: SequenceSyntaxError(self.at(number, column), msg)
            )
            return Wait(seconds, self.at(number, col))
        if match := _STEP.match(text):
            return self.execute(match, number, col)
        raise SequenceSyntaxError(
            self.at(number, col),
            "expected a step: '^', '&' or '|' followed by <title> or {title}, WAIT seconds, "
            "or TERMINATE",
        )

    def execute(self, match: re.Match[str], number: int, col: int) -> Execute:
        self.check_brackets(match, number, col)
        title = match["title"]
        title_at = self.at(number, col + match.start("open"))
        definition = self.definitions.get(title)
        if definition is None:
            raise SequenceSyntaxError(title_at, f"application {title!r} is not defined above")
        writes = match["open"] == "<"
        if writes and not definition.writes:
            raise SequenceSyntaxError(
                title_at,
                f"<{title}> asks for a write run but {title!r} is defined read-only "
                f"({{{title}}} at {definition.where})",
            )
        hours: float | None = None
        if match["hours"] is not None:
            hours_at = self.at(number, col + match.start("hours"))
            hours = _evaluate_seconds(
                match["hours"], lambda msg: SequenceSyntaxError(hours_at, msg)
            )
        args_text = match["args"]
        if args_text and not args_text[0].isspace():
            raise SequenceSyntaxError(
                self.at(number, col + match.start("args")), "expected a space after the title"
            )
        try:
            argv = tuple(shlex.split(args_text, comments=False, posix=True))
        except ValueError as exc:
            raise SequenceSyntaxError(self.at(number, col + match.start("args")), str(exc)) from exc
        criticality = Criticality(match["crit"])
        return Execute(title, writes, argv, criticality, hours, self.at(number, col))

    def check_brackets(self, match: re.Match[str], number: int, col: int) -> None:
        pair = match["open"] + match["close"]
        if pair not in ("<>", "{}"):
            raise SequenceSyntaxError(
                self.at(number, col + match.start("close")),
                f"mismatched brackets {pair!r} around {match['title']!r}: use <title> or {{title}}",
            )

    def close_sequence(self) -> None:
        if self.current is None:
            return
        name, restart, where, steps = self.current
        if not steps:
            raise SequenceSyntaxError(where, f"sequence {name!r} has no steps")
        self.sequences[name] = Sequence(name, restart, tuple(steps), where)
        self.current = None

    def finish(self) -> SequenceFile:
        self.close_sequence()
        return SequenceFile(self.path, dict(self.definitions), dict(self.sequences))


_BINARY: Final[dict[type[ast.operator], Callable[[float, float], float]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
}


def _evaluate_seconds(text: str, error: Callable[[str], SequenceSyntaxError]) -> float:
    """A non-negative number from arithmetic ``text`` (no names, no calls)."""
    if not text.strip():
        raise error("expected a number of seconds")
    try:
        tree = ast.parse(text.strip(), mode="eval")
        value = _arith(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError) as exc:
        raise error(
            f"{text.strip()!r} is not an arithmetic expression of numbers ({exc})"
        ) from None
    if value < 0:
        raise error(f"{text.strip()!r} is negative")
    return value


def _arith(node: ast.expr) -> float:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _arith(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_arith(node.left), _arith(node.right))
    raise ValueError(f"unsupported {type(node).__name__}")
