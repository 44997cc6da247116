"""A context-sensitive scanner over one line of policy text.

Conditions are not fully tokenisable up front: a right-hand side runs to the next ``and`` /
``or`` word (so ``IB RelVal`` and regexes with spaces or parentheses are single values), while
names, operators and brackets are ordinary tokens. The parser therefore asks for the kind of
token it expects next. Columns are 1-based positions in the full source line.
"""

from __future__ import annotations

import re
from typing import NoReturn

from dynamo.policy.errors import PolicySyntaxError

__all__ = ["Scanner"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_SYMBOL_OPERATOR = re.compile(r"!=~|==|!=|=~|<|>")
_WORD_OPERATOR = re.compile(r"(older_than|newer_than|notin|in)(?=\s|\[|$)")
_CONNECTIVE = re.compile(r"(and|or)(?=\s|\(|$)")
_SPACE = re.compile(r"\s*")


class Scanner:
    """Reads names, operators, values and lists from ``source`` starting at index ``start``."""

    def __init__(self, source: str, start: int = 0, *, file: str = "<string>", line: int = 1):
        self.source = source
        self.pos = start
        self.file = file
        self.line = line

    @property
    def col(self) -> int:
        return self.pos + 1

    def skip_space(self) -> None:
        match = _SPACE.match(self.source, self.pos)
        assert match is not None
        self.pos = match.end()

    def at_end(self) -> bool:
        self.skip_space()
        return self.pos >= len(self.source)

    def peek_char(self) -> str:
        self.skip_space()
        return self.source[self.pos : self.pos + 1]

    def take_char(self, char: str) -> bool:
        if self.peek_char() == char:
            self.pos += 1
            return True
        return False

    def peek_name(self) -> str | None:
        self.skip_space()
        match = _NAME.match(self.source, self.pos)
        return match[0] if match else None

    def take_name(self) -> str | None:
        name = self.peek_name()
        if name is not None:
            self.pos += len(name)
        return name

    def take_word(self, word: str) -> bool:
        """Consume ``word`` if it is the next whole word."""
        self.skip_space()
        end = self.pos + len(word)
        if self.source.startswith(word, self.pos) and (
            end == len(self.source) or not (self.source[end].isalnum() or self.source[end] in "_.")
        ):
            self.pos = end
            return True
        return False

    def peek_connective(self) -> str | None:
        self.skip_space()
        match = _CONNECTIVE.match(self.source, self.pos)
        return match[1] if match else None

    def take_operator(self) -> str | None:
        self.skip_space()
        match = _SYMBOL_OPERATOR.match(self.source, self.pos) or _WORD_OPERATOR.match(
            self.source, self.pos
        )
        if match is None:
            return None
        self.pos += len(match[1] if match.lastindex else match[0])
        return match[1] if match.lastindex else match[0]

    def take_value(self, *, in_parens: bool) -> str:
        """The raw right-hand side up to ``and``/``or``, the end, or a closing parenthesis.

        Inside parentheses an unbalanced ``)`` ends the value; balanced ones (regex groups)
        belong to it. Whitespace runs are collapsed to one space, as the original did.
        """
        self.skip_space()
        start = self.pos
        end = start
        depth = 0
        source = self.source
        while self.pos < len(source):
            if (
                self.pos > start
                and source[self.pos - 1].isspace()
                and _CONNECTIVE.match(source, self.pos)
            ):
                break
            char = source[self.pos]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0 and in_parens:
                    break
                depth -= 1
            self.pos += 1
            if not char.isspace():
                end = self.pos
        self.pos = end
        return " ".join(source[start:end].split())

    def take_list(self) -> list[tuple[str, int]]:
        """Elements of ``[a b c]`` (whitespace or commas between), after the ``[`` was taken."""
        opened = self.col - 1
        elements: list[tuple[str, int]] = []
        source = self.source
        while True:
            while self.pos < len(source) and (
                source[self.pos].isspace() or source[self.pos] == ","
            ):
                self.pos += 1
            if self.pos >= len(source):
                self.fail(
                    "unclosed '[': the list needs a closing ']'", col=opened, expected=("']'",)
                )
            if source[self.pos] == "]":
                self.pos += 1
                return elements
            start = self.pos
            while self.pos < len(source) and not (
                source[self.pos].isspace() or source[self.pos] in ",]"
            ):
                self.pos += 1
            elements.append((source[start : self.pos], start + 1))

    def fail(
        self, message: str, *, col: int | None = None, expected: tuple[str, ...] = ()
    ) -> NoReturn:
        raise PolicySyntaxError(
            message,
            file=self.file,
            line=self.line,
            col=self.col if col is None else col,
            source_line=self.source,
            expected=expected,
        )
