"""Expiry times of locks: a duration from now (``7d``, ``12h``, ``1d12h``), an ISO 8601 date
or time (UTC when no offset is given), or epoch seconds. Every result is int epoch seconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from dynamo.registry.errors import RegistryInputError

__all__ = ["MAX_LIFETIME_S", "parse_duration", "parse_expiry"]

MAX_LIFETIME_S: Final = 10 * 366 * 86_400
"""No lock may be set to expire more than about ten years ahead."""

_UNIT_S: Final = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 7 * 86_400}
_DURATION: Final = re.compile(r"(?:\d+[smhdw])+")
_PART: Final = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` or ``1d12h``.

    Raises RegistryInputError for anything else, including a zero duration.
    """
    compact = text.strip().lower()
    if not _DURATION.fullmatch(compact):
        raise RegistryInputError(
            f"bad duration {text!r}: expected a number and a unit (s, m, h, d, w), e.g. 7d"
        )
    seconds = sum(int(n) * _UNIT_S[unit] for n, unit in _PART.findall(compact))
    if seconds <= 0:
        raise RegistryInputError(f"bad duration {text!r}: it must be longer than zero")
    return seconds


def parse_expiry(text: str, now: int) -> int:
    """The epoch second ``text`` designates, which must lie after ``now`` and within
    :data:`MAX_LIFETIME_S` of it (RegistryInputError otherwise)."""
    stripped = text.strip()
    if not stripped:
        raise RegistryInputError("an expiry is required (a duration such as 7d, or a date)")
    if stripped.isdigit():
        expires = int(stripped)
    elif _DURATION.fullmatch(stripped.lower()):
        expires = now + min(parse_duration(stripped), MAX_LIFETIME_S + 1)
    else:
        expires = _parse_date(stripped)
    if expires <= now:
        raise RegistryInputError(f"expiry {text!r} is not in the future")
    if expires - now > MAX_LIFETIME_S:
        raise RegistryInputError(f"expiry {text!r} is more than ten years ahead")
    return expires


def _parse_date(text: str) -> int:
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RegistryInputError(
            f"bad expiry {text!r}: expected a duration (7d, 12h), an ISO 8601 date "
            "(2030-01-31 or 2030-01-31T12:00:00Z) or epoch seconds"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())
