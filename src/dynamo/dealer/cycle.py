"""One Dealer cycle end to end: requests, demand and site facts in; plan; history.

:func:`run_cycle` is what both the scheduled application and ``dynamo dealer run`` call. It
reads the open copy requests (through the registry port), the job-queue demand (through the
job-queue port, the configured JSON feed, the synthetic queue, or else the demand a source
sync stored in the database), the sites' transfer reliability and the latest Detox cycle
(from the database), lets every plug-in propose, plans, and records the cycle.
The returned ChangeSet creates the new incomplete replicas; :meth:`CycleResult.commit_record`
is what the commit's transaction must also do (mark the cycle committed, subscribe the
transfers); :func:`apply_request_updates` moves the copy requests on. A dry run records a
test cycle, changes nothing and updates no request.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from dynamo.dealer.config import DealerConfig
from dynamo.dealer.facts import read_site_stats
from dynamo.dealer.history import commit_record, record_cycle, record_failed_cycle
from dynamo.dealer.jobqueue import (
    JsonJobQueue,
    SqlJobQueue,
    SyntheticJobQueue,
    request_weights,
)
from dynamo.dealer.plan import DealerPlan
from dynamo.dealer.planner import plan
from dynamo.dealer.plugins import build_plugins
from dynamo.dealer.ports import JobQueueSource, PlugInContext
from dynamo.dealer.proposals import PluginProposals
from dynamo.dealer.requests import CopyRequestsPlugIn, RequestReview, RequestUpdate, settle
from dynamo.errors import DynamoError
from dynamo.model import ChangeSet, Inventory
from dynamo.registry import (
    ConflictError,
    RegistryStore,
    RequestKind,
    RequestQuery,
    RequestStatus,
)

__all__ = ["CycleResult", "apply_request_updates", "run_cycle"]

log = logging.getLogger(__name__)

_OPEN_REQUESTS = RequestQuery(
    kind=RequestKind.COPY,
    statuses=(RequestStatus.NEW, RequestStatus.ACTIVATED),
    limit=1_000_000,
)


@dataclass(frozen=True, slots=True)
class CycleResult:
    """A planned cycle: the plan, its history id (None without a database), the ChangeSet
    that commits it, the request updates, and timings in seconds."""

    plan: DealerPlan
    cycle_id: int | None
    changeset: ChangeSet
    request_updates: tuple[RequestUpdate, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)

    def commit_record(self) -> dict[str, Any]:
        """The application record that commits this cycle."""
        assert self.cycle_id is not None
        return commit_record(self.cycle_id, self.plan.subscriptions())

    def to_json(self) -> dict[str, Any]:
        """The cycle as ``dynamo dealer run --json`` prints it."""
        return {
            "cycle": self.cycle_id,
            **self.plan.summary(),
            "requests": {
                str(status): sum(1 for u in self.request_updates if u.status is status)
                for status in RequestStatus
                if any(u.status is status for u in self.request_updates)
            },
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "copies_placed": [copy.to_json() for copy in self.plan.copies],
        }


def run_cycle(
    inventory: Inventory,
    config: DealerConfig,
    *,
    now: int,
    engine: Engine | None,
    registry: RegistryStore | None = None,
    job_queue: JobQueueSource | None = None,
    dry_run: bool = False,
    run_id: int | None = None,
    seed: int | None = None,
) -> CycleResult:
    """Plan one cycle on ``inventory`` (only read) and record it (module docstring)."""
    options = config.options if seed is None else dataclasses.replace(config.options, seed=seed)
    started = time.time()
    seconds: dict[str, float] = {}
    try:
        mark = time.perf_counter()
        requests = registry.find_requests(_OPEN_REQUESTS) if registry is not None else []
        queue = job_queue
        if queue is None and config.job_feed is not None:
            queue = JsonJobQueue(config.job_feed)
        elif queue is None and config.synthetic_jobs:
            queue = SyntheticJobQueue(inventory.datasets, config.synthetic_jobs, seed=options.seed)
        elif queue is None and engine is not None:
            queue = SqlJobQueue(engine)  # the demand a source sync stored (empty: no weights)
        weights = request_weights(queue.queued_jobs(now), now) if queue is not None else {}
        stats = (
            read_site_stats(
                engine,
                partition=options.partition,
                now=now,
                window=config.reliability_window,
                min_transfers=config.reliability_min_transfers,
            )
            if engine is not None
            else {}
        )
        seconds["inputs"] = time.perf_counter() - mark
        ctx = PlugInContext(inventory=inventory, now=now, options=options, site_stats=stats)
        batches = []
        review: RequestReview | None = None
        for plugin in build_plugins(config, requests=requests, weights=weights):
            mark = time.perf_counter()
            if isinstance(plugin, CopyRequestsPlugIn):
                review = plugin.review(ctx)
                proposals = review.proposals
            else:
                proposals = plugin.propose(ctx)
            seconds[f"plugin {plugin.name}"] = time.perf_counter() - mark
            batches.append(
                PluginProposals(
                    plugin=plugin.name, priority=plugin.priority, proposals=tuple(proposals)
                )
            )
        mark = time.perf_counter()
        result = plan(inventory, batches, stats, options, now=now)
        seconds["plan"] = time.perf_counter() - mark
        updates = tuple(settle(review, result, now)) if review is not None else ()
    except DynamoError as exc:
        if engine is not None and not dry_run:
            record_failed_cycle(
                engine,
                partition=options.partition,
                error=str(exc),
                started=int(started),
                finished=int(time.time()),
                run_id=run_id,
            )
        raise
    log.info("Dealer %s: %s", options.partition, result.summary())
    cycle_id = None
    if engine is not None:
        mark = time.perf_counter()
        cycle_id = record_cycle(
            engine,
            result,
            dry_run=dry_run,
            started=int(started),
            finished=int(time.time()),
            run_id=run_id,
        )
        seconds["history"] = time.perf_counter() - mark
    changeset = ChangeSet() if dry_run else result.changeset()
    return CycleResult(result, cycle_id, changeset, () if dry_run else updates, seconds)


def apply_request_updates(registry: RegistryStore, updates: tuple[RequestUpdate, ...]) -> int:
    """Move the copy requests on; a request changed meanwhile (cancelled) is skipped, logged.
    Returns how many were updated."""
    done = 0
    for update in updates:
        try:
            registry.update_request(
                update.request_id,
                update.status,
                reject_reason=update.reject_reason,
                actions=update.actions,
            )
            done += 1
        except ConflictError as exc:
            log.warning("copy request %d not updated: %s", update.request_id, exc)
    return done
