from __future__ import annotations

import errno
import random

import pytest

from dynamo.fileops.ports import HoldReason
from dynamo.fileops.sources import Candidate, FailureRecord, choose_source

A, B, C = Candidate("A"), Candidate("B"), Candidate("C")
TAPE = Candidate("T_MSS", is_tape=True)


def fail(count: int, code: int) -> FailureRecord:
    return FailureRecord(count=count, last_exit_code=code)


@pytest.mark.parametrize(
    ("candidates", "failures", "expected_site", "expected_hold"),
    [
        ([], {}, None, HoldReason.NO_SOURCE),
        ([A], {}, "A", None),
        ([TAPE], {}, "T_MSS", None),
        ([A, TAPE], {}, "A", None),
        ([A, B], {"A": fail(1, errno.ETIMEDOUT)}, "B", None),
        ([A, B], {"A": fail(3, errno.ETIMEDOUT), "B": fail(1, errno.ETIMEDOUT)}, "B", None),
        ([A, B], {"A": fail(1, errno.ETIMEDOUT), "B": fail(1, errno.ENOENT)}, "A", None),
        ([A, B], {"A": fail(1, errno.EIO), "B": fail(2, errno.ENOENT)}, None, "all_failed"),
        ([A, TAPE], {"A": fail(1, errno.EIO)}, None, "all_failed"),
        ([A, B], {"A": fail(1, -1), "B": fail(5, errno.ECONNREFUSED)}, "B", None),
        ([TAPE], {"T_MSS": fail(1, errno.ETIMEDOUT)}, "T_MSS", None),
    ],
)
def test_source_selection_follows_the_rule(
    candidates: list[Candidate],
    failures: dict[str, FailureRecord],
    expected_site: str | None,
    expected_hold: str | None,
) -> None:
    decision = choose_source(candidates, failures, random.Random(1))
    assert decision.site == expected_site
    assert decision.hold == expected_hold
    assert decision.reason


def test_a_tape_source_is_marked_so_that_the_batch_stages() -> None:
    decision = choose_source([TAPE], {}, random.Random(0))
    assert decision.is_tape


def test_untried_sources_are_chosen_at_random_but_reproducibly() -> None:
    candidates = [Candidate(f"S{i}") for i in range(10)]
    first = [choose_source(candidates, {}, random.Random(7)).site for _ in range(3)]
    again = [choose_source(candidates, {}, random.Random(7)).site for _ in range(3)]
    assert first == again
    rng = random.Random(3)
    chosen = {choose_source(candidates, {}, rng).site for _ in range(200)}
    assert len(chosen) > 5
