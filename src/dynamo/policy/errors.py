"""Errors and diagnostics of the policy language.

::

    DynamoError
     +-- PolicyError (ValueError)               a policy that cannot be used
          +-- PolicySyntaxError                 text that does not parse, located FILE:LINE:COL
               +-- UnknownVariableError         a variable name the registry does not know

Warnings (deprecated constructs that are still accepted) are not raised: the parser returns them
as :class:`Diagnostic` records so that callers decide whether to print, log or fail on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.errors import DynamoError

__all__ = ["Diagnostic", "PolicyError", "PolicySyntaxError", "UnknownVariableError"]


class PolicyError(DynamoError, ValueError):
    """A policy, partition definition or condition that cannot be used."""

    code = "policy"


class PolicySyntaxError(PolicyError):
    """Text that does not parse.

    ``line`` and ``col`` are 1-based; ``expected`` lists what the parser would have accepted at
    that point. ``str()`` gives ``FILE:LINE:COL: message``, then the source line and a caret.
    A file with several bad lines raises its first error with the others in ``more``; ``str()``
    then renders all of them, in line order.
    """

    more: tuple[PolicySyntaxError, ...] = ()

    code = "policy_syntax"

    def __init__(
        self,
        message: str,
        *,
        file: str = "<string>",
        line: int = 1,
        col: int = 1,
        source_line: str = "",
        expected: tuple[str, ...] = (),
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        self.source_line = source_line
        self.expected = expected
        super().__init__(self._render())

    @property
    def location(self) -> str:
        """``FILE:LINE:COL``."""
        return f"{self.file}:{self.line}:{self.col}"

    @property
    def headline(self) -> str:
        """``FILE:LINE:COL: message (expected ...)`` on one line."""
        tail = f" (expected {', '.join(self.expected)})" if self.expected else ""
        return f"{self.location}: {self.message}{tail}"

    def _render(self) -> str:
        if not self.source_line:
            return self.headline
        caret = " " * (self.col - 1) + "^"
        return f"{self.headline}\n    {self.source_line}\n    {caret}"

    @classmethod
    def of_all(cls, errors: list[PolicySyntaxError]) -> PolicySyntaxError:
        """The first of ``errors``, carrying the rest (its message then lists them all)."""
        first, *rest = errors
        first.more = tuple(rest)
        first.args = ("\n".join(error._render() for error in errors),)
        return first

    @property
    def all_errors(self) -> tuple[PolicySyntaxError, ...]:
        return (self, *self.more)

    def relocated(
        self, *, file: str, line: int, col_offset: int, source_line: str
    ) -> PolicySyntaxError:
        """The same error placed inside a larger text (a condition embedded in a file line)."""
        return type(self)(
            self.message,
            file=file,
            line=line,
            col=self.col + col_offset,
            source_line=source_line,
            expected=self.expected,
        )


class UnknownVariableError(PolicySyntaxError):
    """A variable name that is not in the registry (the message suggests the closest names)."""

    code = "policy_unknown_variable"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A located warning, e.g. a deprecated construct that was accepted and mapped."""

    file: str
    line: int
    col: int
    message: str
    severity: str = "warning"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.severity}: {self.message}"
