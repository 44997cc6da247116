"""From new and retry subscriptions to submitted batches.

For each subscription picked (oldest first, up to a limit): a transfer whose destination
already holds a complete replica of the block is done at once (unless it is a repair, from
consistency: the replica lists the file, the storage lacks it); otherwise a source is chosen
(:mod:`dynamo.fileops.sources`) or the subscription is held. Tasks are grouped per link
(source site, destination site), backend (the destination's, from the endpoints) and staging
flag, cut into batches, and each batch is written (batch row, task rows, subscriptions
``inbatch``) in one transaction, then submitted. A submission that raises sends its
subscriptions back to retry with exit code -1 (recorded as a failure of that source).
Limits: tasks in flight per destination site and per backend; subscriptions over a limit
wait for a later cycle.
"""

from __future__ import annotations

import logging
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from dynamo.fileops.collect import record_submission
from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.errors import UNKNOWN_ERRNO
from dynamo.fileops.inflight import TaskInfo, task_spec
from dynamo.fileops.ports import (
    BatchSpec,
    BatchStatus,
    FileOpBackend,
    HoldReason,
    OpKind,
    SubscriptionStatus,
    TaskStatus,
)
from dynamo.fileops.sources import Candidate, FailureRecord, choose_source
from dynamo.model import Inventory, SiteStatus, StorageType
from dynamo.storage.naming import PfnTranslationError
from dynamo.store.schema.fileops import (
    fileop_batches,
    fileop_failures,
    fileop_subscriptions,
    fileop_tasks,
)
from dynamo.store.sqlops import chunks, is_any_of, lookup_chunk

__all__ = ["DispatchCounts", "DispatchOptions", "dispatch"]

log = logging.getLogger(__name__)
REPAIR_ORIGINS: frozenset[str] = frozenset({"consistency"})
"""Origins whose transfers repair a file the replica lists but the storage lacks: a complete
replica at the destination does not satisfy them."""

_subs = fileop_subscriptions


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchOptions:
    """Sizes and limits of one dispatch pass."""

    batch_size: int = 1000
    max_subscriptions: int = 100_000
    max_pending_per_site: int = 100_000
    max_pending_per_backend: int = 500_000
    seed: int = 0


@dataclass(slots=True)
class DispatchCounts:
    """What one dispatch pass did."""

    satisfied: int = 0
    held: Counter[str] = field(default_factory=Counter)
    deferred: int = 0
    batches: int = 0
    tasks: int = 0
    submit_failures: int = 0


@dataclass(frozen=True, slots=True)
class _Sub:
    id: int
    kind: OpKind
    lfn: str
    site: str
    dataset: str
    block: str
    size: int
    adler32: str
    status: str
    origin: str
    created: int


_GroupKey = tuple[OpKind, str, str | None, str, bool]
"""(kind, backend, source site, destination site, staging)."""


@dataclass(slots=True)
class _Plan:
    groups: dict[_GroupKey, list[tuple[_Sub, str | None, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    holds: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    satisfied: list[int] = field(default_factory=list)


def dispatch(
    engine: Engine,
    inventory: Inventory,
    endpoints: Endpoints,
    backends: Mapping[str, FileOpBackend],
    now: int,
    options: DispatchOptions,
) -> DispatchCounts:
    """One pass: choose, hold, batch and submit (see the module docstring)."""
    counts = DispatchCounts()
    rng = random.Random(options.seed ^ now)
    with engine.connect() as conn:
        per_site, per_backend = _in_flight(conn)
        subs = _pick(conn, options.max_subscriptions)
        done_at = _done_transfer_sites(conn, [s.lfn for s in subs if s.kind is OpKind.TRANSFER])
        failures = _failures(conn, [s.id for s in subs if s.status == SubscriptionStatus.RETRY])
    for name, instance in backends.items():
        try:
            per_backend[name] = max(per_backend[name], instance.pending())
        except Exception as exc:  # an unreachable backend gets no new work this cycle
            log.warning("backend %s: pending() failed, nothing submitted to it: %s", name, exc)
            per_backend[name] = options.max_pending_per_backend
    plan = _Plan()
    for sub in subs:
        backend = endpoints.backend_of(sub.site)
        if backend is None or backend not in backends:
            counts.deferred += 1
            continue
        if (
            per_site[sub.site] >= options.max_pending_per_site
            or per_backend[backend] >= options.max_pending_per_backend
        ):
            counts.deferred += 1
            continue
        if _place(sub, backend, inventory, endpoints, done_at, failures, rng, plan):
            per_site[sub.site] += 1
            per_backend[backend] += 1
    _write_decisions(engine, plan, now, counts)
    for key, items in plan.groups.items():
        for part in chunks(items, options.batch_size):
            _submit(engine, key, part, endpoints, backends[key[1]], now, counts)
    return counts


def _place(
    sub: _Sub,
    backend: str,
    inventory: Inventory,
    endpoints: Endpoints,
    done_at: Mapping[str, set[str]],
    failures: Mapping[int, dict[str, FailureRecord]],
    rng: random.Random,
    plan: _Plan,
) -> bool:
    """Decide one subscription into ``plan``; True when it becomes a task."""
    try:
        path = endpoints[sub.site].site_path(sub.lfn)
    except PfnTranslationError as exc:
        log.warning("subscription %d: held: %s", sub.id, exc)
        plan.holds[HoldReason.SITE_UNAVAILABLE].append(sub.id)
        return False
    if sub.kind is OpKind.DELETION:
        plan.groups[(sub.kind, backend, None, sub.site, False)].append((sub, None, path))
        return True
    replica = inventory.find_block_replica(sub.dataset, sub.block, sub.site)
    if replica is not None and replica.is_complete() and sub.origin not in REPAIR_ORIGINS:
        plan.satisfied.append(sub.id)
        return False
    candidates = _candidates(sub, inventory, endpoints, done_at.get(sub.lfn, set()))
    decision = choose_source(candidates, failures.get(sub.id, {}), rng)
    if decision.site is None:
        assert decision.hold is not None
        log.info("subscription %d (%s to %s): held: %s", sub.id, sub.lfn, sub.site, decision.reason)
        plan.holds[decision.hold].append(sub.id)
        return False
    try:
        source_path = endpoints[decision.site].site_path(sub.lfn)
    except PfnTranslationError as exc:
        log.warning("subscription %d: source %s has no path: %s", sub.id, decision.site, exc)
        plan.holds[HoldReason.NO_SOURCE].append(sub.id)
        return False
    log.debug("subscription %d from %s: %s", sub.id, decision.site, decision.reason)
    key = (sub.kind, backend, decision.site, sub.site, decision.is_tape)
    plan.groups[key].append((sub, source_path, path))
    return True


def _candidates(
    sub: _Sub, inventory: Inventory, endpoints: Endpoints, done_at: set[str]
) -> list[Candidate]:
    names = set(done_at)
    block = inventory.find_block(sub.dataset, sub.block)
    if block is not None:
        names.update(r.site.name for r in block.replicas if r.is_complete())
    names.discard(sub.site)
    found = []
    for name in sorted(names):
        site = inventory.sites.get(name)
        endpoint = endpoints.get(name)
        if site is None or endpoint is None or site.status != SiteStatus.READY:
            continue
        found.append(Candidate(name, endpoint.is_tape or site.storage_type == StorageType.MSS))
    return found


def _in_flight(conn: Connection) -> tuple[Counter[str], Counter[str]]:
    b, t = fileop_batches, fileop_tasks
    query = (
        select(b.c.site, b.c.backend, func.count())
        .select_from(t.join(b, t.c.batch_id == b.c.id))
        .group_by(b.c.site, b.c.backend)
    )
    per_site: Counter[str] = Counter()
    per_backend: Counter[str] = Counter()
    for site, backend, count in conn.execute(query):
        per_site[site] += count
        per_backend[backend] += count
    return per_site, per_backend


def _pick(conn: Connection, limit: int) -> list[_Sub]:
    query = (
        select(
            _subs.c.id,
            _subs.c.kind,
            _subs.c.lfn,
            _subs.c.site,
            _subs.c.dataset,
            _subs.c.block,
            _subs.c.size,
            _subs.c.adler32,
            _subs.c.status,
            _subs.c.origin,
            _subs.c.created,
        )
        .where(_subs.c.status.in_([SubscriptionStatus.NEW.value, SubscriptionStatus.RETRY.value]))
        .order_by(_subs.c.id)
        .limit(limit)
    )
    return [_Sub(row[0], OpKind(row[1]), *row[2:]) for row in conn.execute(query)]


def _done_transfer_sites(conn: Connection, lfns: Sequence[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for part in chunks(sorted(set(lfns)), lookup_chunk(conn)):
        query = select(_subs.c.lfn, _subs.c.site).where(
            is_any_of(conn, _subs.c.lfn, part),
            _subs.c.kind == OpKind.TRANSFER.value,
            _subs.c.status == SubscriptionStatus.DONE.value,
        )
        for lfn, site in conn.execute(query):
            found[lfn].add(site)
    return found


def _failures(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, FailureRecord]]:
    f = fileop_failures
    rows: dict[tuple[int, str], list[tuple[int, int, int]]] = defaultdict(list)
    for part in chunks(ids, lookup_chunk(conn)):
        query = select(f.c.subscription_id, f.c.source_site, f.c.at, f.c.id, f.c.exit_code).where(
            is_any_of(conn, f.c.subscription_id, part)
        )
        for sub_id, site, at, id_, code in conn.execute(query):
            rows[(sub_id, site)].append((at, id_, code))
    found: dict[int, dict[str, FailureRecord]] = defaultdict(dict)
    for (sub_id, site), attempts in rows.items():
        found[sub_id][site] = FailureRecord(len(attempts), max(attempts)[2])
    return found


def _write_decisions(engine: Engine, plan: _Plan, now: int, counts: DispatchCounts) -> None:
    with engine.begin() as conn:
        pending = [SubscriptionStatus.NEW.value, SubscriptionStatus.RETRY.value]
        for part in chunks(plan.satisfied, lookup_chunk(conn)):
            conn.execute(
                update(_subs)
                .where(is_any_of(conn, _subs.c.id, part), _subs.c.status.in_(pending))
                .values(status=SubscriptionStatus.DONE.value, hold_reason=None, updated=now)
            )
        counts.satisfied += len(plan.satisfied)
        for reason, ids in plan.holds.items():
            for part in chunks(ids, lookup_chunk(conn)):
                conn.execute(
                    update(_subs)
                    .where(is_any_of(conn, _subs.c.id, part), _subs.c.status.in_(pending))
                    .values(status=SubscriptionStatus.HELD.value, hold_reason=reason, updated=now)
                )
            counts.held[reason] += len(ids)


def _submit(
    engine: Engine,
    key: _GroupKey,
    items: Sequence[tuple[_Sub, str | None, str]],
    endpoints: Endpoints,
    backend: FileOpBackend,
    now: int,
    counts: DispatchCounts,
) -> None:
    kind, backend_name, source_site, site, staging = key
    with engine.begin() as conn:
        batch_id = _create_batch(conn, key, items, now)
        if batch_id is None:
            return
        infos = _task_infos(conn, batch_id, {sub.id: sub for sub, _, _ in items})
    spec = BatchSpec(
        batch_id=batch_id,
        kind=kind,
        backend=backend_name,
        site=site,
        source_site=source_site,
        is_staging=staging,
        tasks=tuple(task_spec(info, endpoints) for info in infos),
    )
    try:
        external_id = backend.submit(spec)
    except Exception as exc:
        log.warning("batch %d: submission to %s failed: %s", batch_id, backend_name, exc)
        _undo_batch(engine, batch_id, infos, source_site, str(exc), now)
        counts.submit_failures += len(infos)
        return
    record_submission(engine, batch_id, external_id, now)
    counts.batches += 1
    counts.tasks += len(infos)
    log.info(
        "batch %d: %d %ss %s-> %s via %s%s",
        batch_id,
        len(infos),
        kind,
        f"{source_site} " if source_site else "",
        site,
        backend_name,
        " (staging)" if staging else "",
    )


def _create_batch(
    conn: Connection, key: _GroupKey, items: Sequence[tuple[_Sub, str | None, str]], now: int
) -> int | None:
    kind, backend_name, source_site, site, staging = key
    pending = [SubscriptionStatus.NEW.value, SubscriptionStatus.RETRY.value]
    ids = [sub.id for sub, _, _ in items]
    claimed = conn.execute(
        update(_subs)
        .where(is_any_of(conn, _subs.c.id, ids), _subs.c.status.in_(pending))
        .values(status=SubscriptionStatus.INBATCH.value, hold_reason=None, updated=now)
    ).rowcount
    if claimed == len(ids):
        still = set(ids)
    else:  # some changed since they were picked (cancelled, held): leave those out
        still = set(
            conn.execute(
                select(_subs.c.id).where(
                    is_any_of(conn, _subs.c.id, ids),
                    _subs.c.status == SubscriptionStatus.INBATCH.value,
                    _subs.c.updated == now,
                )
            ).scalars()
        )
    if not still:
        return None
    inserted = conn.execute(
        insert(fileop_batches).values(
            kind=kind.value,
            backend=backend_name,
            source_site=source_site,
            site=site,
            status=BatchStatus.QUEUED.value,
            staging=int(staging),
            created=now,
            updated=now,
        )
    ).inserted_primary_key
    assert inserted is not None
    batch_id = int(inserted[0])
    rows: list[dict[str, Any]] = [
        {
            "batch_id": batch_id,
            "subscription_id": sub.id,
            "source_site": source_site,
            "source_path": source_path,
            "path": path,
            "status": TaskStatus.NEW.value,
        }
        for sub, source_path, path in items
        if sub.id in still
    ]
    conn.execute(insert(fileop_tasks), rows)
    return batch_id


def _task_infos(conn: Connection, batch_id: int, subs: Mapping[int, _Sub]) -> list[TaskInfo]:
    t = fileop_tasks
    query = (
        select(t.c.id, t.c.subscription_id, t.c.source_site, t.c.source_path, t.c.path)
        .where(t.c.batch_id == batch_id)
        .order_by(t.c.id)
    )
    infos = []
    for task_id, sub_id, source_site, source_path, path in conn.execute(query):
        sub = subs[sub_id]
        infos.append(
            TaskInfo(
                task_id=task_id,
                subscription_id=sub_id,
                kind=sub.kind,
                lfn=sub.lfn,
                site=sub.site,
                size=sub.size,
                adler32=sub.adler32,
                source_site=source_site,
                source_path=source_path,
                path=path,
                task_status=TaskStatus.NEW.value,
                subscription_status=SubscriptionStatus.INBATCH.value,
                origin=sub.origin,
                created=sub.created,
            )
        )
    return infos


def _undo_batch(
    engine: Engine,
    batch_id: int,
    infos: Sequence[TaskInfo],
    source_site: str | None,
    message: str,
    now: int,
) -> None:
    ids = [info.subscription_id for info in infos]
    with engine.begin() as conn:
        conn.execute(delete(fileop_tasks).where(fileop_tasks.c.batch_id == batch_id))
        conn.execute(delete(fileop_batches).where(fileop_batches.c.id == batch_id))
        for part in chunks(ids, lookup_chunk(conn)):
            conn.execute(
                update(_subs)
                .where(is_any_of(conn, _subs.c.id, part), _subs.c.status == "inbatch")
                .values(status=SubscriptionStatus.RETRY.value, updated=now)
            )
        if source_site is not None:
            conn.execute(
                insert(fileop_failures),
                [
                    {
                        "subscription_id": sub_id,
                        "source_site": source_site,
                        "exit_code": UNKNOWN_ERRNO,
                        "message": f"submission failed: {message}"[:4000],
                        "at": now,
                    }
                    for sub_id in ids
                ],
            )
