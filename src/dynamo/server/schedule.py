"""Scheduling decisions, as pure logic over an injected ``now`` (epoch seconds).

- :func:`admit`: which queued runs may start, given what runs: at most one write run at a
  time, at most ``max_readers`` read runs; FIFO within each kind (a waiting write run does not
  hold back read runs queued after it).
- :class:`IntervalTimer`: an application every ``every`` seconds, measured from the previous
  start, never two at once (a run still going when the next is due delays it).
- :class:`SequenceCursor`: one sequence of a sequence file, with the original's semantics:
  steps run in order and loop forever; ``WAIT s`` waits; ``TERMINATE`` stops; when a step fails,
  ``|`` continues with the next step, ``&`` retries the step and ``^`` restarts the sequence
  (both after ``retry_seconds``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from dynamo.server.seqfile import Criticality, Execute, Sequence, Terminate, Wait

__all__ = [
    "Action",
    "IntervalTimer",
    "Launch",
    "Pending",
    "SequenceCursor",
    "Sleep",
    "Stopped",
    "admit",
]


@dataclass(frozen=True, slots=True)
class Pending:
    """A queued run as admission sees it."""

    run_id: int
    writes: bool


def admit(
    queue: Iterable[Pending], *, readers_running: int, writer_running: bool, max_readers: int
) -> list[Pending]:
    """The queued runs to start now, in queue order."""
    chosen: list[Pending] = []
    free_readers = max(0, max_readers - readers_running)
    writer_busy = writer_running
    for pending in queue:
        if pending.writes:
            if not writer_busy:
                chosen.append(pending)
                writer_busy = True
        elif free_readers > 0:
            chosen.append(pending)
            free_readers -= 1
    return chosen


class IntervalTimer:
    """Due at ``start + delay``, then ``every`` seconds after each launch, once idle."""

    def __init__(self, every: float, *, start: float, delay: float = 0.0) -> None:
        if every <= 0:
            raise ValueError("an interval must be positive")
        self.every = every
        self.next_due = start + delay
        self.active_run: int | None = None

    def is_due(self, now: float) -> bool:
        return self.active_run is None and now >= self.next_due

    def launched(self, run_id: int, now: float) -> None:
        self.active_run = run_id
        self.next_due = now + self.every

    def finished(self) -> None:
        self.active_run = None


@dataclass(frozen=True, slots=True)
class Launch:
    step: Execute
    line: int


@dataclass(frozen=True, slots=True)
class Sleep:
    until: float | None  # None: waiting for a run to finish


@dataclass(frozen=True, slots=True)
class Stopped:
    reason: str


Action: TypeAlias = Launch | Sleep | Stopped


class SequenceCursor:
    """Where a sequence stands. Call :meth:`next_action`; report launches and endings."""

    def __init__(self, sequence: Sequence, *, retry_seconds: float = 60.0) -> None:
        self.sequence = sequence
        self.retry_seconds = retry_seconds
        self.line = 0
        self.wait_until: float | None = None
        self.not_before: float | None = None
        self.active_run: int | None = None
        self.stopped: str | None = None

    def next_action(self, now: float) -> Action:
        """What to do at ``now``; passes WAITs that are over, stops at TERMINATE."""
        steps = self.sequence.steps
        for _ in range(len(steps) + 1):
            if self.stopped is not None:
                return Stopped(self.stopped)
            if self.active_run is not None:
                return Sleep(None)
            step = steps[self.line]
            if isinstance(step, Terminate):
                self.stopped = f"TERMINATE at {step.where}"
                continue
            if isinstance(step, Wait):
                if self.wait_until is None:
                    self.wait_until = now + step.seconds
                if now < self.wait_until:
                    return Sleep(self.wait_until)
                self.wait_until = None
                self._advance()
                continue
            if self.not_before is not None and now < self.not_before:
                return Sleep(self.not_before)
            self.not_before = None
            return Launch(step, self.line)
        return Sleep(now)  # every step was a zero WAIT: come back at the next tick

    def launched(self, run_id: int) -> None:
        self.active_run = run_id

    def finished(self, *, ok: bool, now: float) -> None:
        """The active run ended; ``ok`` when its status is done."""
        step = self.sequence.steps[self.line]
        self.active_run = None
        assert isinstance(step, Execute)
        if ok or step.criticality is Criticality.CONTINUE:
            self._advance()
            return
        self.not_before = now + self.retry_seconds
        if step.criticality is Criticality.RESTART:
            self.line = 0

    def stop(self, reason: str) -> None:
        self.stopped = reason

    def _advance(self) -> None:
        self.line = (self.line + 1) % len(self.sequence.steps)
