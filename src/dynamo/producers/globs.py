"""Many ``fnmatch`` globs matched against every dataset name, without a regex per pair.

A translated glob such as ``/*/*/MINIAOD*`` costs microseconds per name (``.*`` backtracks),
and a lock registry or a set of enforcer rules may hold many of them, against a million names.
:class:`GlobIndex` runs a glob's regex only on names that pass a cheap necessary test:

- a glob ending in a literal ``/TIER`` can only match names whose last ``/`` part is ``TIER``,
  and one starting with a literal ``/PRIMARY/`` only names whose first part is ``PRIMARY``:
  those globs are found by a dict lookup on the name's parts;
- any other glob is tried only on names containing its longest literal run (a substring
  search in C).

The answers are exactly those of :func:`fnmatch.fnmatchcase` (case-sensitive, ``*`` also
matching ``/``); the tests check it against random globs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import translate
from typing import Generic, TypeVar

__all__ = ["GlobIndex", "literal_runs"]

T = TypeVar("T")


def literal_runs(glob: str) -> list[str | None]:
    """The glob as literal runs and wildcards (None), following :func:`fnmatch.translate`.

    ``*``, ``?`` and a complete ``[...]`` class are wildcards; a ``[`` without its ``]`` is a
    literal, as in fnmatch.
    """
    parts: list[str | None] = []
    literal: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        end = _class_end(glob, i) if char == "[" else None
        if char in "*?" or end is not None:
            if literal:
                parts.append("".join(literal))
                literal = []
            if not parts or parts[-1] is not None:
                parts.append(None)
            if end is not None:
                i = end
        else:
            literal.append(char)
    if literal:
        parts.append("".join(literal))
    return parts


def _class_end(glob: str, start: int) -> int | None:
    """The index after the ``]`` closing a class opened just before ``start``, else None."""
    j, n = start, len(glob)
    if j < n and glob[j] == "!":
        j += 1
    if j < n and glob[j] == "]":
        j += 1
    while j < n and glob[j] != "]":
        j += 1
    return j + 1 if j < n else None


@dataclass(frozen=True, slots=True)
class _Glob(Generic[T]):
    key: str
    regex: re.Pattern[str]
    value: T


class GlobIndex(Generic[T]):
    """Globs, each with a value; :meth:`matches` gives the values of those a name matches."""

    __slots__ = ("_by_first", "_by_last", "_general", "_size")

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._by_first: dict[str, list[_Glob[T]]] = {}
        self._by_last: dict[str, list[_Glob[T]]] = {}
        self._general: list[_Glob[T]] = []
        self._size = 0
        for glob, value in entries:
            self._add(glob, value)

    def _add(self, glob: str, value: T) -> None:
        parts = literal_runs(glob)
        literals = [part for part in parts if part is not None]
        entry = _Glob(max(literals, key=len, default=""), re.compile(translate(glob)), value)
        self._size += 1
        first, last = parts[0] if parts else None, parts[-1] if parts else None
        if last is not None and "/" in last:
            self._by_last.setdefault(last[last.rfind("/") + 1 :], []).append(entry)
        elif first is not None and first.startswith("/") and first.find("/", 1) > 0:
            self._by_first.setdefault(first[1 : first.find("/", 1)], []).append(entry)
        else:
            self._general.append(entry)

    def __len__(self) -> int:
        return self._size

    def matches(self, name: str) -> list[T]:
        """The values of the globs ``name`` matches, by index (last part, first part), then in
        the order the other globs were given."""
        found: list[T] = []
        if self._by_last:
            for entry in self._by_last.get(name[name.rfind("/") + 1 :], ()):
                if entry.regex.match(name):
                    found.append(entry.value)
        if self._by_first and name.startswith("/"):
            end = name.find("/", 1)
            if end > 0:
                for entry in self._by_first.get(name[1:end], ()):
                    if entry.regex.match(name):
                        found.append(entry.value)
        for entry in self._general:
            if entry.key in name and entry.regex.match(name):
                found.append(entry.value)
        return found
