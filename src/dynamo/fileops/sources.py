"""Source selection for a transfer subscription: pure, seeded, every choice with its reason.

Candidates are the ready sites that hold the file (a complete replica of its block, or a done
transfer subscription of the file), other than the destination. The rule, in order:

1. only disk candidates when there is at least one; tape candidates otherwise (the batch then
   stages first);
2. none at all: held ``no_source``;
3. a random untried candidate (no failure recorded for this subscription from it);
4. else the least-failed candidate whose last failure is retryable (ties: by name);
5. else every candidate last failed irrecoverably: held ``all_failed``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dynamo.fileops.errors import is_irrecoverable
from dynamo.fileops.ports import HoldReason

__all__ = ["Candidate", "FailureRecord", "SourceDecision", "choose_source"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A site that holds the file."""

    site: str
    is_tape: bool = False


@dataclass(frozen=True, slots=True)
class FailureRecord:
    """The failures of one subscription from one source: how many, and the last exit code."""

    count: int
    last_exit_code: int


@dataclass(frozen=True, slots=True)
class SourceDecision:
    """A chosen source (``site``), or a hold (``hold``), and why."""

    site: str | None
    is_tape: bool
    hold: HoldReason | None
    reason: str


def choose_source(
    candidates: Sequence[Candidate],
    failures: Mapping[str, FailureRecord],
    rng: random.Random,
) -> SourceDecision:
    """Apply the rule of the module docstring; ``rng`` breaks ties among untried sources."""
    disk = sorted((c for c in candidates if not c.is_tape), key=lambda c: c.site)
    pool = disk or sorted((c for c in candidates if c.is_tape), key=lambda c: c.site)
    medium = "tape" if pool and not disk else "disk"
    if not pool:
        return SourceDecision(None, False, HoldReason.NO_SOURCE, "no ready site holds the file")
    untried = [c for c in pool if c.site not in failures]
    if untried:
        chosen = untried[rng.randrange(len(untried))]
        return SourceDecision(
            chosen.site, chosen.is_tape, None, f"untried {medium} source ({len(untried)} untried)"
        )
    retryable = [c for c in pool if not is_irrecoverable(failures[c.site].last_exit_code)]
    if retryable:
        chosen = min(retryable, key=lambda c: (failures[c.site].count, c.site))
        record = failures[chosen.site]
        return SourceDecision(
            chosen.site,
            chosen.is_tape,
            None,
            f"least-failed {medium} source ({record.count} failures, last errno "
            f"{record.last_exit_code} retryable)",
        )
    return SourceDecision(
        None,
        False,
        HoldReason.ALL_FAILED,
        f"all {len(pool)} {medium} sources last failed irrecoverably",
    )
