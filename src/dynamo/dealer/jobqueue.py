"""Demand from the job queues: the JSON feed adapter and ``request_weight``.

A dataset's ``request_weight`` at ``now`` is the number of jobs that asked for it, each
discounted by its age with a half-life (4 days, as CMS's GlobalQueueRequestHistory)::

    weight = sum(jobs * 0.5 ** ((now - queued) / half_life))

The feed (a file, or what an HTTP endpoint returned) is a JSON list, or an object with a
``jobs`` list, of ``{"dataset": NAME, "jobs": COUNT, "queued": EPOCH_SECONDS}``.
:class:`SqlJobQueue` reads the demand a source sync stored (``docs/sources.md``, ``demand``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import orjson
from sqlalchemy import Engine

from dynamo.dealer.ports import QueuedJobs
from dynamo.errors import ConfigurationError
from dynamo.store.synced import read_queued_jobs

__all__ = [
    "HALF_LIFE",
    "JsonJobQueue",
    "SqlJobQueue",
    "SyntheticJobQueue",
    "parse_job_feed",
    "request_weights",
]

HALF_LIFE: Final = 4 * 86_400
"""Seconds after which a queued job counts half."""


def request_weights(
    records: Iterable[QueuedJobs], now: int, half_life: int = HALF_LIFE
) -> dict[str, float]:
    """``request_weight`` per dataset (see the module docstring); future records count fully."""
    weights: dict[str, float] = {}
    for record in records:
        age = max(0, now - record.queued)
        weight = record.jobs * 0.5 ** (age / half_life)
        weights[record.dataset] = weights.get(record.dataset, 0.0) + weight
    return weights


def parse_job_feed(text: str | bytes, *, source: str = "<feed>") -> list[QueuedJobs]:
    """The records of a JSON feed; ConfigurationError naming ``source`` and the entry."""
    try:
        data: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{source}: not JSON: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("jobs")
    if not isinstance(data, list):
        raise ConfigurationError(f"{source}: expected a list of job records")
    records = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{source}: entry {index} is not an object")
        dataset, jobs, queued = entry.get("dataset"), entry.get("jobs", 1), entry.get("queued")
        if not isinstance(dataset, str) or not dataset:
            raise ConfigurationError(f"{source}: entry {index} has no dataset name")
        if (
            not isinstance(jobs, int)
            or not isinstance(queued, int)
            or not _is_int(jobs)
            or not _is_int(queued)
            or jobs < 0
        ):
            raise ConfigurationError(
                f"{source}: entry {index}: 'jobs' and 'queued' must be integers (jobs >= 0)"
            )
        records.append(QueuedJobs(dataset=dataset, jobs=jobs, queued=queued))
    return records


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class JsonJobQueue:
    """A :class:`~dynamo.dealer.ports.JobQueueSource` reading a JSON feed file at every call."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def queued_jobs(self, now: int) -> list[QueuedJobs]:
        try:
            text = self.path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the job feed {self.path}: {exc}") from exc
        return [r for r in parse_job_feed(text, source=str(self.path)) if r.queued <= now]


class SqlJobQueue:
    """A :class:`~dynamo.dealer.ports.JobQueueSource` reading the synced ``queued_jobs`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def queued_jobs(self, now: int) -> list[QueuedJobs]:
        return [
            QueuedJobs(dataset=dataset, jobs=jobs, queued=queued)
            for dataset, queued, jobs in read_queued_jobs(self.engine, now)
        ]


class SyntheticJobQueue:
    """A :class:`~dynamo.dealer.ports.JobQueueSource` inventing demand, for the demo and
    benchmarks: ``datasets`` of ``names`` drawn at random (seeded) ask for jobs in a
    heavy-tailed distribution (a few very popular, most barely), queued over the last 8 days.
    The same seed, names and ``now`` give the same jobs."""

    def __init__(self, names: Iterable[str], datasets: int, *, seed: int = 0) -> None:
        self.names = sorted(names)
        self.datasets = datasets
        self.seed = seed

    def queued_jobs(self, now: int) -> list[QueuedJobs]:
        rng = random.Random(f"{self.seed}:{now // 86_400}")
        chosen = rng.sample(self.names, min(self.datasets, len(self.names)))
        return [
            QueuedJobs(
                dataset=name,
                jobs=int(rng.paretovariate(1.2)),
                queued=now - rng.randrange(8 * 86_400),
            )
            for name in chosen
        ]
