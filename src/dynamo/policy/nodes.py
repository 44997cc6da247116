"""The frozen syntax tree of conditions, Detox policies and partition definitions.

Source positions (``line``, ``col``) are carried for messages but take no part in equality, so
that ``parse(format(tree)) == tree`` holds whatever the layout of the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Action",
    "And",
    "Condition",
    "DetoxPolicy",
    "Not",
    "Or",
    "OrderKey",
    "PartitionDef",
    "PolicyLine",
    "Predicate",
    "Value",
    "ValueKind",
]


class ValueKind(StrEnum):
    """How the right-hand side of a predicate is interpreted."""

    TEXT = "text"  # literal string
    GLOB = "glob"  # fnmatch pattern (contains * or ?)
    REGEX = "regex"  # Python regex, re.match (anchored at the start)
    NUMBER = "number"  # float, optionally with a size unit (kB ... PB)
    ENUM = "enum"  # an enumeration member name, upper case
    TIME = "time"  # a time phrase, resolved against ``now`` at compile time
    NULL = "null"  # ``None``: the null group


@dataclass(frozen=True, slots=True)
class Value:
    kind: ValueKind
    text: str
    col: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Predicate:
    """``variable`` alone (a boolean), or ``variable operator values``.

    ``operator`` is None for a bare boolean, else one of ``== != =~ !=~ < > older_than
    newer_than in notin``; ``values`` has one element except for ``in`` / ``notin``.
    """

    variable: str
    operator: str | None = None
    values: tuple[Value, ...] = ()
    col: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Condition


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Condition, ...]


Condition = Predicate | Not | And | Or


class Action(StrEnum):
    """What a Detox policy line decides, and whether it acts per block replica."""

    PROTECT = "Protect"
    DELETE = "Delete"
    DISMISS = "Dismiss"
    IGNORE = "Ignore"
    PROTECT_BLOCK = "ProtectBlock"
    DELETE_BLOCK = "DeleteBlock"
    DISMISS_BLOCK = "DismissBlock"

    @property
    def is_block_level(self) -> bool:
        return self.value.endswith("Block")

    @property
    def dataset_level(self) -> Action:
        """The dataset-level action of a block-level one (itself for dataset-level actions)."""
        return Action(self.value.removesuffix("Block"))


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One action line; ``condition`` None is the bare default. ``number`` is 1-based."""

    action: Action
    condition: Condition | None
    number: int = field(default=0, compare=False)
    text: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class OrderKey:
    variable: str
    decreasing: bool


@dataclass(frozen=True, slots=True)
class DetoxPolicy:
    """A parsed Detox policy file.

    ``partition`` is None for the old files that predate the ``Partition`` line. ``order`` None
    means no ``Order`` line; an empty tuple is ``Order none``.
    """

    partition: str | None
    on: tuple[Condition, ...]
    when: tuple[Condition, ...]
    until: tuple[Condition, ...]
    lines: tuple[PolicyLine, ...]
    order: tuple[OrderKey, ...] | None = None
    static: bool = False
    file: str = field(default="<string>", compare=False)


@dataclass(frozen=True, slots=True)
class PartitionDef:
    """``Name: condition`` or ``Name: [A, B]`` (a superpartition)."""

    name: str
    condition: Condition | None
    subpartitions: tuple[str, ...] = ()
    line: int = field(default=0, compare=False)
