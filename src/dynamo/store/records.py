"""Frozen records of the history, queue and report reads, whose ``to_json()`` is the API's JSON.

A record is a ``@dataclass(frozen=True, slots=True)`` deriving from :class:`Record`; its JSON
is its fields by name, in their order, with the values as they are (a ``StrEnum`` is its
string to orjson). A record whose JSON differs (null for an infinite float, nested records)
overrides ``to_json`` and starts from ``Record.to_json(self)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Record", "field_names"]

_FIELDS: dict[type[Any], tuple[str, ...]] = {}


class Record:
    """A frozen dataclass row; ``to_json()`` gives its fields by name."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in field_names(type(self))}


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The names of the fields of dataclass ``cls``, in order (computed once per class)."""
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found
