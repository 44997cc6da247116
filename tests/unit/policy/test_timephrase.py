"""Time phrases resolve in-process against an injected now, as GNU date did, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dynamo.policy.timephrase import TimePhraseError, resolve_time, validate_time_phrase


def _at(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())  # type: ignore[misc]


NOW = _at(2024, 3, 31, 12, 30)


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("90 days ago", _at(2024, 1, 1, 12, 30)),
        ("1 week ago", _at(2024, 3, 24, 12, 30)),
        ("2 weeks ago", _at(2024, 3, 17, 12, 30)),
        ("3 months ago", _at(2023, 12, 31, 12, 30)),
        ("1 month ago", _at(2024, 3, 2, 12, 30)),  # Feb 31 normalises to Mar 2, as in GNU date
        ("12 months ago", _at(2023, 3, 31, 12, 30)),
        ("1 year ago", _at(2023, 3, 31, 12, 30)),
        ("January 1", _at(2024, 1, 1)),
        ("Jan 5 2019", _at(2019, 1, 5)),
        ("5 March", _at(2024, 3, 5)),
        ("2020-02-13", _at(2020, 2, 13)),
        ("2020-02-13T06:07:08Z", _at(2020, 2, 13, 6, 7, 8)),
        ("90d", _at(2024, 1, 1, 12, 30)),
        ("2w", _at(2024, 3, 17, 12, 30)),
        ("1y", _at(2023, 3, 31, 12, 30)),
        ("now", NOW),
        ("today", _at(2024, 3, 31)),
        ("  90   Days  AGO ", _at(2024, 1, 1, 12, 30)),
    ],
)
def test_a_time_phrase_resolves_against_now(phrase: str, expected: int) -> None:
    assert resolve_time(phrase, NOW) == expected


@pytest.mark.parametrize(
    "phrase", ["1 weak ago", "Janvier 1", "2020-13-01", "February 30", "ago", "90", "soon", "3q"]
)
def test_a_phrase_outside_the_language_is_rejected(phrase: str) -> None:
    with pytest.raises(TimePhraseError):
        validate_time_phrase(phrase)
