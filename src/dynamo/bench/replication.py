"""Follower lag under a stream of ChangeSets: the leader writes at a target rate, a follower in
another process tails ``inventory_log`` the way a server does, and each entry's lag is the
time from the leader's acknowledgement of the commit to the follower's apply.

The leader writes through the real write path of a leading server: the store's commit with the
epoch fence (the lease is taken and the epoch claimed first), one new dataset per ChangeSet.
The follower is a :class:`dynamo.server.replication.LogFollower` polling every
``poll_seconds`` (the server's default is 0.1 s). Both processes run on this machine, so their
clocks agree. ``replay_rate`` is how fast a follower applies a backlog: a fresh follower, from
an empty image, applies the whole log written by the run.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet, Inventory, UpsertDataset
from dynamo.server.replication import LogFollower
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore, migrate
from dynamo.store.engine import make_engine
from dynamo.store.leadership import (
    DatabaseLease,
    claim_leadership,
    epoch_fence,
    supports_leases,
)

__all__ = ["bench_replication"]


def bench_replication(
    url: str,
    *,
    rate: float = 1000.0,
    seconds: float = 10.0,
    poll_seconds: float = 0.1,
) -> dict[str, Any]:
    """Write ``rate`` ChangeSets/s for ``seconds`` into the empty database ``url`` (PostgreSQL
    or MariaDB) and report the follower's lag (ms) and the rates reached."""
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
            target=_follow, args=(url, poll_seconds, str(applied_file), ready, stop)
        )
        follower.start()
        try:
            ready.wait(60)
            committed, write_seconds = _write(url, rate, seconds)
        finally:
            stop.set()
            follower.join(120)
        applied = {int(k): v for k, v in json.loads(applied_file.read_text()).items()}
    replay_seconds = _replay(url)
    lags = sorted(1000 * (applied[seq] - at) for seq, at in committed.items() if seq in applied)
    return {
        "database": url.split("://", 1)[0],
        "target_rate": rate,
        "changesets": len(committed),
        "write_seconds": round(write_seconds, 2),
        "achieved_rate": round(len(committed) / write_seconds, 1),
        "applied": len(lags),
        "poll_seconds": poll_seconds,
        "replay_rate": round(len(committed) / replay_seconds, 1),
        "lag_ms": {
            "mean": round(statistics.fmean(lags), 1),
            "p50": round(_quantile(lags, 0.50), 1),
            "p95": round(_quantile(lags, 0.95), 1),
            "p99": round(_quantile(lags, 0.99), 1),
            "max": round(lags[-1], 1),
        },
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _write(url: str, rate: float, seconds: float) -> tuple[dict[int, float], float]:
    """The leader: take the lease, claim an epoch, then commit one dataset per ChangeSet."""
    store = SqlInventoryStore.open(url)
    lease = DatabaseLease(store.engine)
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
        inventory, _ = store.load()
        committed: dict[int, float] = {}
        count = int(rate * seconds)
        started = time.perf_counter()
        for number in range(count):
            delay = started + number / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            changeset = ChangeSet.of([UpsertDataset(name=f"/Bench/Replication{number}/RAW")])
            seq = store.commit(changeset, inventory)
            committed[seq] = time.time()
        return committed, time.perf_counter() - started
    finally:
        lease.release()
        store.close()


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


def _follow(url: str, poll_seconds: float, out: str, ready: Any, stop: Any) -> None:
    """The follower process: load, then tail the log until stopped and caught up."""
    store = SqlInventoryStore.open(url)
    service = InventoryService.load(store)
    applied: dict[int, float] = {}
    follower = LogFollower(
        service, store, on_applied=lambda seq: applied.__setitem__(seq, time.time())
    )

    async def tail() -> None:
        ready.set()
        while not stop.is_set():
            await follower.catch_up()
            await asyncio.sleep(poll_seconds)
        await follower.catch_up()

    try:
        asyncio.run(tail())
    finally:
        store.close()
    Path(out).write_text(json.dumps(applied))
