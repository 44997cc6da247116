"""The configured schedules: interval entries and sequences, resolved to registered apps.

:class:`ScheduleDriver` owns one :class:`IntervalTimer` per ``[[scheduler.interval]]`` and one
:class:`SequenceCursor` per sequence of the sequence file, and at every :meth:`tick` submits
what is due through a :class:`RunSubmitter` (the scheduler). Sequence-file titles map to
application names through ``[scheduler] titles`` (default: the title itself).

A schedule naming an application that is not registered does not run: it is reported as a
:class:`ConfigurationError` in :attr:`ScheduleDriver.problems`, naming the application, the
place and the registered applications. Other schedules are not affected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dynamo.errors import ConfigurationError
from dynamo.server.applications import ApplicationRegistry, parse_argv
from dynamo.server.schedconfig import IntervalEntry, SchedulerConfig
from dynamo.server.schedule import IntervalTimer, Launch, SequenceCursor
from dynamo.server.seqfile import Execute, load_sequences
from dynamo.store.appruns import AppRun, RunStatus

__all__ = ["RunSubmitter", "ScheduleDriver", "ScheduleView"]

MIN_STEP_TIMEOUT = 60
"""Seconds: the smallest time limit a sequence step's ``[hours]`` gives (as the original)."""


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A schedule as the API shows it; ``kind`` is interval, sequence or problem."""

    name: str
    kind: str
    app: str | None
    state: str


class RunSubmitter(Protocol):
    async def submit_scheduled(
        self, app: str, args: Mapping[str, Any], timeout: int | None, writes: bool, source: str
    ) -> AppRun | None: ...

    def watch(self, run: AppRun, callback: Callable[[AppRun], None]) -> None: ...


class ScheduleDriver:
    """See the module docstring. ``load`` once, then ``tick`` repeatedly."""

    def __init__(
        self, config: SchedulerConfig, registry: ApplicationRegistry, clock: Callable[[], float]
    ) -> None:
        self.config = config
        self.registry = registry
        self.clock = clock
        self.problems: list[ConfigurationError] = []
        self.intervals: dict[str, tuple[IntervalEntry, IntervalTimer]] = {}
        self.sequences: dict[str, tuple[SequenceCursor, dict[str, str]]] = {}

    def load(self, now: float) -> None:
        """Build the timers and cursors; SequenceSyntaxError for a bad sequence file."""
        for entry in self.config.intervals:
            if entry.app not in self.registry:
                self.problems.append(self._unknown(entry.app, f"interval {entry.name!r}"))
                continue
            timer = IntervalTimer(entry.every, start=now, delay=entry.delay)
            self.intervals[entry.name] = (entry, timer)
        if self.config.sequence_file is not None:
            self._load_sequences()

    def _load_sequences(self) -> None:
        assert self.config.sequence_file is not None
        seqfile = load_sequences(self.config.sequence_file)
        for name in self.config.sequences or tuple(seqfile.sequences):
            sequence = seqfile.sequences.get(name)
            if sequence is None:
                self.problems.append(ConfigurationError(f"{seqfile.path}: no sequence {name!r}"))
                continue
            titles: dict[str, str] = {}
            usable = True
            for step in sequence.steps:
                if not isinstance(step, Execute):
                    continue
                seen = step.title in titles
                app = titles[step.title] = self.config.titles.get(step.title, step.title)
                if app not in self.registry:
                    usable = False
                    if seen:  # one problem per unregistered title and sequence
                        continue
                    where = f"{step.where}: sequence {name!r}, title {step.title!r}"
                    self.problems.append(self._unknown(app, where))
                elif step.writes and not self.registry.get(app).writes:
                    usable = False
                    self.problems.append(
                        ConfigurationError(
                            f"{step.where}: sequence {name!r} runs <{step.title}> in write mode "
                            f"but application {app!r} is read-only; this schedule does not run"
                        )
                    )
            if usable:
                cursor = SequenceCursor(sequence, retry_seconds=self.config.retry_seconds)
                self.sequences[name] = (cursor, titles)

    def _unknown(self, app: str, where: str) -> ConfigurationError:
        return ConfigurationError(
            f"{where}: application {app!r} is not registered (registered: "
            f"{', '.join(self.registry.names)}); this schedule does not run"
        )

    async def tick(self, now: float, submitter: RunSubmitter) -> None:
        """Submit every run that is due at ``now``."""
        for name, (entry, timer) in self.intervals.items():
            if not timer.is_due(now):
                continue
            run = await submitter.submit_scheduled(
                entry.app, entry.args, entry.timeout, entry.writes, f"interval:{name}"
            )
            if run is not None:
                timer.launched(run.id, now)
                submitter.watch(run, _interval_callback(timer))
        for name, (cursor, titles) in self.sequences.items():
            action = cursor.next_action(now)
            if isinstance(action, Launch):
                await self._launch(name, cursor, titles, action, submitter)

    async def _launch(
        self,
        name: str,
        cursor: SequenceCursor,
        titles: dict[str, str],
        action: Launch,
        submitter: RunSubmitter,
    ) -> None:
        step = action.step
        timeout = None
        if step.timeout_hours is not None:
            timeout = max(MIN_STEP_TIMEOUT, int(step.timeout_hours * 3600))
        run = await submitter.submit_scheduled(
            titles[step.title], parse_argv(step.argv), timeout, step.writes, f"sequence:{name}"
        )
        if run is None:
            cursor.stop(f"line {step.where.line} could not be submitted; see the server log")
            return
        cursor.launched(run.id)
        submitter.watch(run, _sequence_callback(cursor, self.clock))

    def views(self) -> list[ScheduleView]:
        views = [
            ScheduleView(
                name,
                "interval",
                entry.app,
                "running" if timer.active_run else f"next at {int(timer.next_due)}",
            )
            for name, (entry, timer) in self.intervals.items()
        ]
        for name, (cursor, _) in self.sequences.items():
            line = cursor.sequence.steps[cursor.line].where.line
            state = cursor.stopped or (
                f"running line {line}" if cursor.active_run else f"at line {line}"
            )
            views.append(ScheduleView(name, "sequence", None, state))
        views += [ScheduleView("-", "problem", None, str(p)) for p in self.problems]
        return views


def _interval_callback(timer: IntervalTimer) -> Callable[[AppRun], None]:
    def finished(run: AppRun) -> None:
        timer.finished()

    return finished


def _sequence_callback(
    cursor: SequenceCursor, clock: Callable[[], float]
) -> Callable[[AppRun], None]:
    def finished(run: AppRun) -> None:
        cursor.finished(ok=run.status is RunStatus.DONE, now=clock())

    return finished
