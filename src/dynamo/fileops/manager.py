"""The file-operations manager: one cycle over the queue tables.

:func:`run_cycle` does, in order, each step in its own short transactions (a crash between
any two leaves rows that the next cycle's cleanup puts right):

1. intake: new ``replica_deletions`` rows become deletion subscriptions;
2. cleanup: tasks of subscriptions that are new, retry or held are dropped, ``inbatch``
   subscriptions without a task go back to ``new``, batches without tasks are removed;
3. collect: each backend is polled, results archived and subscriptions moved on, tasks of
   cancelled subscriptions named to the backends, tasks of batches overdue at an external
   backend (``job_timeout``) cancelled and failed (:mod:`dynamo.fileops.collect`);
4. holds: pending subscriptions at sites that are not ready (or have no endpoint) are held
   ``site_unavailable``; such holds are released when the site is ready again;
5. dispatch: new and retry subscriptions get sources and go out in batches
   (:mod:`dynamo.fileops.dispatch`).

The manager never deletes subscription rows (the updater folds done and cancelled ones into
the inventory and removes them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, exists, select, update

from dynamo.fileops.collect import collect_results
from dynamo.fileops.dispatch import DispatchOptions, dispatch
from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.intake import take_replica_deletions
from dynamo.fileops.ports import FileOpBackend, HoldReason, SubscriptionStatus
from dynamo.model import Inventory, SiteStatus
from dynamo.store.schema.fileops import fileop_batches, fileop_subscriptions, fileop_tasks
from dynamo.store.sqlops import chunks, is_any_of, lookup_chunk

__all__ = ["CycleSummary", "ManagerOptions", "run_cycle"]

log = logging.getLogger(__name__)
_subs = fileop_subscriptions


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagerOptions:
    """Knobs of a cycle. ``seed`` makes source choices reproducible (mixed with ``now``)."""

    batch_size: int = 1000
    max_subscriptions: int = 100_000
    max_pending_per_site: int = 100_000
    max_pending_per_backend: int = 500_000
    seed: int = 0
    take_deletions: bool = True
    job_timeout: int = 172_800
    """Seconds after its submission to an external backend (FTS3) after which a batch's
    tasks still without a result are cancelled and failed (retryable); 0: never."""

    def dispatch_options(self) -> DispatchOptions:
        return DispatchOptions(
            batch_size=self.batch_size,
            max_subscriptions=self.max_subscriptions,
            max_pending_per_site=self.max_pending_per_site,
            max_pending_per_backend=self.max_pending_per_backend,
            seed=self.seed,
        )


@dataclass(slots=True)
class CycleSummary:
    """Counts of one cycle (``as_dict`` for JSON)."""

    subscribed_deletions: int = 0
    cleaned: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    retry: int = 0
    held_after_failure: int = 0
    cancel_requests: int = 0
    batches_finished: int = 0
    backend_errors: int = 0
    timed_out: int = 0
    held_site_unavailable: int = 0
    released_site_available: int = 0
    satisfied: int = 0
    held: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    batches_submitted: int = 0
    tasks_submitted: int = 0
    submit_failures: int = 0
    unknown_backends: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    @property
    def task_updates(self) -> int:
        """Task state changes this cycle: created, and finished."""
        return self.tasks_submitted + self.done + self.failed + self.cancelled


def run_cycle(
    engine: Engine,
    inventory: Inventory,
    endpoints: Endpoints,
    backends: Mapping[str, FileOpBackend],
    now: int,
    options: ManagerOptions | None = None,
) -> CycleSummary:
    """One manager cycle (see the module docstring); ``now`` is epoch seconds."""
    options = options or ManagerOptions()
    summary = CycleSummary()
    if options.take_deletions:
        summary.subscribed_deletions = take_replica_deletions(engine, now=now)
    summary.cleaned = clean(engine, now)
    collected = collect_results(engine, endpoints, backends, now, job_timeout=options.job_timeout)
    summary.done, summary.failed, summary.cancelled = (
        collected.done,
        collected.failed,
        collected.cancelled,
    )
    summary.retry, summary.held_after_failure = collected.retry, collected.held
    summary.cancel_requests = collected.cancel_requests
    summary.batches_finished = collected.batches_finished
    summary.backend_errors = collected.backend_errors
    summary.timed_out = collected.timed_out
    summary.unknown_backends = sorted(collected.unknown_backend)
    held, released = hold_unavailable(engine, inventory, endpoints, now)
    summary.held_site_unavailable, summary.released_site_available = held, released
    dispatched = dispatch(engine, inventory, endpoints, backends, now, options.dispatch_options())
    summary.satisfied = dispatched.satisfied
    summary.held = dict(dispatched.held)
    summary.deferred = dispatched.deferred
    summary.batches_submitted, summary.tasks_submitted = dispatched.batches, dispatched.tasks
    summary.submit_failures = dispatched.submit_failures
    log.info("file operations cycle: %s", summary.as_dict())
    return summary


def clean(engine: Engine, now: int) -> int:
    """Put inconsistent rows right (step 2); returns how many rows changed."""
    t = fileop_tasks
    stale_states = [
        SubscriptionStatus.NEW.value,
        SubscriptionStatus.RETRY.value,
        SubscriptionStatus.HELD.value,
    ]
    with engine.begin() as conn:
        stale = list(
            conn.execute(
                select(t.c.id)
                .select_from(t.join(_subs, t.c.subscription_id == _subs.c.id))
                .where(_subs.c.status.in_(stale_states))
            ).scalars()
        )
        for part in chunks(stale, lookup_chunk(conn)):
            conn.execute(delete(t).where(is_any_of(conn, t.c.id, part)))
        if stale:
            log.warning("cleanup: dropped %d tasks of subscriptions not in a batch", len(stale))
        orphans = conn.execute(
            update(_subs)
            .where(
                _subs.c.status == SubscriptionStatus.INBATCH.value,
                ~exists().where(t.c.subscription_id == _subs.c.id),
            )
            .values(status=SubscriptionStatus.NEW.value, updated=now)
        ).rowcount
        if orphans:
            log.warning("cleanup: %d inbatch subscriptions had no task: back to new", orphans)
        empty = conn.execute(
            delete(fileop_batches).where(~exists().where(t.c.batch_id == fileop_batches.c.id))
        ).rowcount
        return len(stale) + orphans + empty


def hold_unavailable(
    engine: Engine, inventory: Inventory, endpoints: Endpoints, now: int
) -> tuple[int, int]:
    """Hold pending subscriptions at unavailable sites, release those at available ones;
    returns (held, released)."""
    reason = HoldReason.SITE_UNAVAILABLE.value
    with engine.begin() as conn:
        sites = set(
            conn.execute(
                select(_subs.c.site)
                .where(
                    _subs.c.status.in_(
                        [
                            SubscriptionStatus.NEW.value,
                            SubscriptionStatus.RETRY.value,
                            SubscriptionStatus.HELD.value,
                        ]
                    )
                )
                .distinct()
            ).scalars()
        )
        down = sorted(s for s in sites if not _is_available(s, inventory, endpoints))
        up = sorted(sites - set(down))
        held = released = 0
        if down:
            held = conn.execute(
                update(_subs)
                .where(
                    _subs.c.site.in_(down),
                    _subs.c.status.in_(
                        [SubscriptionStatus.NEW.value, SubscriptionStatus.RETRY.value]
                    ),
                )
                .values(status=SubscriptionStatus.HELD.value, hold_reason=reason, updated=now)
            ).rowcount
            log.info("held %d subscriptions at unavailable sites %s", held, down)
        if up:
            released = conn.execute(
                update(_subs)
                .where(
                    _subs.c.site.in_(up),
                    _subs.c.status == SubscriptionStatus.HELD.value,
                    _subs.c.hold_reason == reason,
                )
                .values(status=SubscriptionStatus.NEW.value, hold_reason=None, updated=now)
            ).rowcount
    return held, released


def _is_available(site: str, inventory: Inventory, endpoints: Endpoints) -> bool:
    found = inventory.sites.get(site)
    return found is not None and found.status == SiteStatus.READY and site in endpoints
