"""Reading a producer's configuration table: unknown keys and wrong types are errors.

Every message names the producer and the key, so a typo in ``[detox.producers.NAME]`` fails
the load instead of silently producing nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dynamo.errors import ConfigurationError

__all__ = ["check_keys", "string_list"]


def check_keys(config: Mapping[str, Any], producer: str, allowed: Iterable[str]) -> None:
    """ConfigurationError if ``config`` has a key outside ``allowed``."""
    known = set(allowed)
    unknown = sorted(set(config) - known)
    if unknown:
        expected = ", ".join(sorted(known)) if known else "none"
        raise ConfigurationError(
            f"producer {producer!r}: unknown key(s) {', '.join(map(repr, unknown))} "
            f"(expected: {expected})"
        )


def string_list(value: object, producer: str, key: str) -> list[str]:
    """``value`` as a list of non-empty strings (a single string is a list of one)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ConfigurationError(
            f"producer {producer!r}: {key!r} must be a string or a list of non-empty strings, "
            f"not {value!r}"
        )
    return list(items)
