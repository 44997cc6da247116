"""Time phrases on the right of TIME predicates, resolved in-process against an injected ``now``.

The original handed the phrase to GNU ``date -d``; the forms below are those the CMS files use
plus the extensions, with GNU's meaning and UTC in place of the local zone::

    phrase   := 'now' | 'today' | 'yesterday'
              | INT unit 'ago'          (unit: second minute hour day week month year, + 's')
              | MONTH INT [INT] | INT MONTH [INT]     (a date at 00:00 UTC, this year by default)
              | ISO-DATE ['T'|' ' HH:MM[:SS]] ['Z']
              | INT ('s'|'min'|'h'|'d'|'w'|'y')     (a duration: that long before now)

``N months ago`` keeps the day of the month and normalises an overflow as GNU does
(March 31 minus one month is March 2 or 3).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

__all__ = ["TimePhraseError", "resolve_time", "validate_time_phrase"]

_UNITS = {
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "fortnight": 14 * 86400,
}
_CALENDAR_UNITS = {"month": 1, "year": 12}
_SHORT = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MONTHS = {
    name: index + 1
    for index, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_AGO = re.compile(r"(\d+)\s+([a-z]+?)s?\s+ago")
_DURATION = re.compile(r"(\d+)(s|min|h|d|w|y)")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|\+00:?00)?")
_FORMS = "N days ago, N weeks ago, N months ago, January 1, 2020-01-31, 90d"


class TimePhraseError(ValueError):
    """A phrase that is not a time expression of the language."""


def validate_time_phrase(text: str) -> None:
    """Raise :class:`TimePhraseError` unless ``text`` is a valid phrase (for any ``now``)."""
    resolve_time(text, 0)


def resolve_time(text: str, now: int) -> int:
    """The epoch second that ``text`` denotes when the current time is ``now``."""
    phrase = " ".join(text.lower().split())
    current = datetime.fromtimestamp(now, UTC)
    midnight = int(datetime(current.year, current.month, current.day, tzinfo=UTC).timestamp())
    if phrase == "now":
        return now
    if phrase == "today":
        return midnight
    if phrase == "yesterday":
        return now - 86400
    if match := _AGO.fullmatch(phrase):
        return _ago(int(match[1]), match[2], current, text)
    if match := _DURATION.fullmatch(phrase):
        count, unit = int(match[1]), match[2]
        if unit == "y":
            return _shift_months(current, -12 * count)
        return now - count * _SHORT[unit]
    if match := _ISO.fullmatch(phrase.upper()):
        return _iso(match, text)
    return _calendar(phrase, current.year, text)


def _ago(count: int, unit: str, current: datetime, text: str) -> int:
    if unit in _UNITS:
        return int(current.timestamp()) - count * _UNITS[unit]
    if unit in _CALENDAR_UNITS:
        return _shift_months(current, -count * _CALENDAR_UNITS[unit])
    raise TimePhraseError(f"unknown time unit {unit!r} in {text!r}; expected one of {_FORMS}")


def _shift_months(current: datetime, months: int) -> int:
    total = current.year * 12 + current.month - 1 + months
    year, month0 = divmod(total, 12)
    if year < 1:
        raise TimePhraseError("time phrase goes before year 1")
    first = datetime(year, month0 + 1, 1, current.hour, current.minute, current.second, tzinfo=UTC)
    return int((first + timedelta(days=current.day - 1)).timestamp())


def _iso(match: re.Match[str], text: str) -> int:
    try:
        moment = datetime(
            int(match[1]),
            int(match[2]),
            int(match[3]),
            int(match[4] or 0),
            int(match[5] or 0),
            int(match[6] or 0),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise TimePhraseError(f"invalid date {text!r}: {exc}") from exc
    return int(moment.timestamp())


def _calendar(phrase: str, this_year: int, text: str) -> int:
    words = phrase.replace(",", " ").split()
    if len(words) in (2, 3):
        month_first = words[0] in _MONTHS and words[1].isdigit()
        day_first = words[1] in _MONTHS and words[0].isdigit()
        year_ok = len(words) == 2 or (words[2].isdigit() and len(words[2]) == 4)
        if (month_first or day_first) and year_ok:
            month = _MONTHS[words[0] if month_first else words[1]]
            day = int(words[1] if month_first else words[0])
            year = int(words[2]) if len(words) == 3 else this_year
            try:
                return int(
                    datetime.combine(date(year, month, day), datetime.min.time(), UTC).timestamp()
                )
            except ValueError as exc:
                raise TimePhraseError(f"invalid date {text!r}: {exc}") from exc
    raise TimePhraseError(f"not a time phrase: {text!r}; expected one of {_FORMS}")
