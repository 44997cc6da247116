"""Follower lag under a stream of ChangeSets: the leader writes at a target rate, a follower in
another process tails ``inventory_log`` the way a server does, and each entry's lag is the
time from the leader's acknowledgement of the commit to the follower's apply.

The leader writes through the real write path of a leading server: ``writers`` concurrent
writers call :meth:`InventoryService.commit` (the group commit: the ChangeSets waiting share one
transaction, one log row each) on a store with the epoch fence (the lease is taken and the
epoch claimed first), one new dataset per ChangeSet. ChangeSet ``n`` is offered at
``n / rate`` s; a writer still waiting for its previous commit offers it late, so the achieved
rate says whether the leader kept up. ``commit_ms`` is from the offer to the acknowledgement.
The follower is a :class:`dynamo.server.replication.LogFollower` polling every
``poll_seconds`` (the server's default is 0.1 s) and, with ``listen`` on PostgreSQL, woken by
the notification of each commit (:class:`dynamo.server.replication.LogWakeup`, as a server).
Both processes run on this machine, so their clocks agree. ``replay_rate`` is how fast a
follower applies a backlog: a fresh follower, from an empty image, applies the whole log
written by the run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet, Inventory, UpsertDataset
from dynamo.server.replication import LogFollower, LogWakeup
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore, migrate
from dynamo.store.engine import make_engine
from dynamo.store.leadership import (
    DatabaseLease,
    claim_leadership,
    epoch_fence,
    supports_leases,
)
from dynamo.store.ports import GroupEntry, GroupOutcome

__all__ = ["bench_replication"]


def bench_replication(
    url: str,
    *,
    rate: float = 1000.0,
    seconds: float = 10.0,
    poll_seconds: float = 0.1,
    writers: int = 64,
    listen: bool = False,
) -> dict[str, Any]:
    """Offer ``rate`` ChangeSets/s for ``seconds`` from ``writers`` concurrent writers into the
    empty database ``url`` (PostgreSQL or MariaDB) and report the follower's lag (ms), the
    commit latency (ms), the transactions and the rates reached."""
    if writers < 1:
        raise ConfigurationError(f"writers must be at least 1, not {writers}")
    engine = make_engine(url)
    try:
        if not supports_leases(engine):
            raise ConfigurationError("the replication bench needs PostgreSQL or MariaDB")
        migrate(engine)
    finally:
        engine.dispose()
    with tempfile.TemporaryDirectory(prefix="dynamo-bench-replication-") as scratch:
        applied_file = Path(scratch) / "applied.json"
        context = multiprocessing.get_context("spawn")
        ready, stop = context.Event(), context.Event()
        follower = context.Process(
            target=_follow, args=(url, poll_seconds, listen, str(applied_file), ready, stop)
        )
        follower.start()
        try:
            ready.wait(60)
            written = _write(url, rate, seconds, writers)
        finally:
            stop.set()
            follower.join(120)
        applied = {int(k): v for k, v in json.loads(applied_file.read_text()).items()}
    replay_seconds = _replay(url)
    committed = written.acked
    lags = sorted(1000 * (applied[seq] - at) for seq, at in committed.items() if seq in applied)
    return {
        "database": url.split("://", 1)[0],
        "target_rate": rate,
        "writers": writers,
        "changesets": len(committed),
        "write_seconds": round(written.seconds, 2),
        "achieved_rate": round(len(committed) / written.seconds, 1),
        "transactions": len(written.groups),
        "changesets_per_transaction": round(statistics.fmean(written.groups), 1),
        "applied": len(lags),
        "poll_seconds": poll_seconds,
        "listen": listen and url.startswith("postgres"),
        "replay_rate": round(len(committed) / replay_seconds, 1),
        "commit_ms": _summary(sorted(written.latencies)),
        "lag_ms": _summary(lags),
    }


def _summary(ordered: list[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.fmean(ordered), 1),
        "p50": round(_quantile(ordered, 0.50), 1),
        "p95": round(_quantile(ordered, 0.95), 1),
        "p99": round(_quantile(ordered, 0.99), 1),
        "max": round(ordered[-1], 1),
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(slots=True)
class _Written:
    """What the leader did: ack time per seq, offer-to-ack ms, ChangeSets per transaction."""

    acked: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _write(url: str, rate: float, seconds: float, writers: int) -> _Written:
    """The leader: take the lease, claim an epoch, then offer one dataset per ChangeSet."""
    store = SqlInventoryStore.open(url)
    lease = DatabaseLease(store.engine)
    written = _Written()
    write_group = store.write_group

    def counted(entries: Sequence[GroupEntry], inventory: Inventory) -> list[GroupOutcome]:
        written.groups.append(len(entries))
        return write_group(entries, inventory)

    try:
        if not lease.try_acquire():
            raise ConfigurationError("another server holds the lease of this database")
        epoch = claim_leadership(
            store.engine,
            server="bench",
            url="",
            db_session=lease.session_id,
            now_ms=int(time.time() * 1000),
        )
        store.fence = epoch_fence(epoch)
        store.write_group = counted  # type: ignore[method-assign]
        inventory, seq = store.load()
        service = InventoryService(store, inventory, seq)
        asyncio.run(_offer(service, rate, seconds, writers, written))
        return written
    finally:
        lease.release()
        store.close()


async def _offer(
    service: InventoryService, rate: float, seconds: float, writers: int, written: _Written
) -> None:
    count = int(rate * seconds)
    numbers = itertools.count()
    started = time.perf_counter()

    async def writer() -> None:
        while (number := next(numbers)) < count:
            offered = started + number / rate
            delay = offered - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            changeset = ChangeSet.of([UpsertDataset(name=f"/Bench/Replication{number}/RAW")])
            seq = await service.commit(changeset)
            written.acked[seq] = time.time()
            written.latencies.append(1000 * (time.perf_counter() - offered))

    await asyncio.gather(*(writer() for _ in range(writers)))
    written.seconds = time.perf_counter() - started


def _replay(url: str) -> float:
    """Seconds a follower starting from an empty image takes to apply the whole log."""
    store = SqlInventoryStore.open(url)
    try:
        follower = LogFollower(InventoryService(store, Inventory(), 0), store)
        started = time.perf_counter()
        asyncio.run(follower.catch_up())
        return time.perf_counter() - started
    finally:
        store.close()


def _follow(url: str, poll_seconds: float, listen: bool, out: str, ready: Any, stop: Any) -> None:
    """The follower process: load, then tail the log until stopped and caught up."""
    store = SqlInventoryStore.open(url)
    service = InventoryService.load(store)
    applied: dict[int, float] = {}
    follower = LogFollower(
        service, store, on_applied=lambda seq: applied.__setitem__(seq, time.time())
    )

    async def tail() -> None:
        wakeup = LogWakeup(store.engine, listen=listen)
        wakeup.start()
        ready.set()
        while not stop.is_set():
            await follower.catch_up()
            await wakeup.wait(poll_seconds)
        await follower.catch_up()
        await wakeup.stop()

    try:
        asyncio.run(tail())
    finally:
        store.close()
    Path(out).write_text(json.dumps(applied))
