"""Names and globs of the registry: syntax checks, and globs compiled once to regexes.

Globs use ``*``, ``?`` and ``[...]`` with :func:`fnmatch.fnmatchcase` semantics (case-sensitive).
An item is a dataset name, or ``dataset#block``; only the dataset part of a lock item may be a
glob.
"""

from __future__ import annotations

import re
from fnmatch import translate
from functools import lru_cache
from typing import Final

from dynamo.registry.errors import RegistryInputError

__all__ = ["MAX_PATTERN_LENGTH", "compile_glob", "has_glob", "split_item", "validate_glob"]

MAX_PATTERN_LENGTH: Final = 640
"""The longest item, site or group name or glob (a dataset name, ``#`` and a block name)."""
_GLOB_CHARS: Final = frozenset("*?[")
_FORBIDDEN: Final = re.compile(r"[\s\x00-\x1f\x7f]")


def has_glob(text: str) -> bool:
    """Whether ``text`` holds a wildcard."""
    return not _GLOB_CHARS.isdisjoint(text)


def validate_glob(pattern: str, what: str) -> str:
    """``pattern`` if it is a usable name or glob; RegistryInputError naming ``what`` otherwise."""
    if not pattern:
        raise RegistryInputError(f"empty {what}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegistryInputError(f"{what} too long ({len(pattern)} > {MAX_PATTERN_LENGTH})")
    if _FORBIDDEN.search(pattern):
        raise RegistryInputError(f"bad {what} {pattern!r}: whitespace or control characters")
    depth = 0
    for char in pattern:
        if char == "[":
            if depth:
                raise RegistryInputError(f"bad {what} glob {pattern!r}: nested '['")
            depth = 1
        elif char == "]" and depth:
            depth = 0
    if depth:
        raise RegistryInputError(f"bad {what} glob {pattern!r}: unclosed '['")
    return pattern


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The regex matching exactly what ``fnmatchcase(name, pattern)`` matches."""
    return re.compile(translate(pattern))


def split_item(item: str, *, allow_glob: bool) -> tuple[str, str | None]:
    """``(dataset, block)`` of ``dataset`` or ``dataset#block`` (block None for a dataset).

    Raises RegistryInputError for an empty part, more than one ``#``, a glob in the block part,
    or any glob when ``allow_glob`` is false.
    """
    validate_glob(item, "item")
    dataset, sep, block = item.partition("#")
    if not dataset or (sep and not block) or "#" in block:
        raise RegistryInputError(f"bad item {item!r}: expected DATASET or DATASET#BLOCK")
    if has_glob(block) or (has_glob(dataset) and (sep or not allow_glob)):
        where = "a lock on a dataset glob" if allow_glob else "a request names items exactly"
        raise RegistryInputError(f"bad item {item!r}: wildcards are not allowed here ({where})")
    return dataset, (block if sep else None)
