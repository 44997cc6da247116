"""Several inventory servers on one database: one leader writes, the followers tail the log.

The life of a server (:class:`ServerNode`)::

    starting --(caught up with the log)--> follower --(lease taken, epoch claimed,
    caught up again)--> leader --(lease lost or epoch overtaken)--> follower

- The **leader** holds the database lease (:class:`dynamo.store.leadership.DatabaseLease`)
  and is the only server that writes: the store's fence checks its epoch in every write
  transaction. It runs the scheduled applications (``on_lead`` starts them, ``on_follow``
  stops them) and heartbeats the ``leadership`` row.
- A **follower** applies the log (:class:`dynamo.server.replication.LogFollower`) every
  ``poll_seconds``, and on PostgreSQL as soon as a commit is notified; it serves reads, and
  the API answers its writes with a redirect to the leader.
  Once it has applied the whole log it tries the lease at every heartbeat: the database
  releases the lease the moment the leader's session ends (process killed, connection cut), so
  a follower takes over within a heartbeat. A leader that is alive for the database but has
  not heartbeated for ``silence_seconds`` (``failover_seconds`` less three heartbeats: hung,
  or cut off from the database on a half-open connection) has its lease session ended by a
  follower, and with it every session idle inside a locking transaction for a heartbeat or
  more (a leader hung mid-write holds the ``leadership`` row its fence locked); the
  follower then takes the lease, waiting for that row at most two heartbeats (it retries at
  the next heartbeat otherwise): the takeover fits in ``failover_seconds``.
- A deposed leader refuses writes at once, stops the applications, gives up the lease and
  stays a follower for a few heartbeats before it competes again (a healthy follower is
  preferred). Its image is the database at its seq, so it simply tails the log from there.

With SQLite there is no lease: one server runs, and a second is refused
(:class:`SingleServerLock`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from dynamo.errors import ConfigurationError, DynamoError
from dynamo.model import PartitionCompiler
from dynamo.server.checkpoints import Checkpointer
from dynamo.server.replication import LogFollower, LogWakeup
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.leadership import (
    DatabaseLease,
    ServerRecord,
    claim_leadership,
    end_silent_leader,
    epoch_fence,
    list_servers,
    read_leader,
    record_server,
    refuse_writes,
    renew_leadership,
    supports_leases,
)

__all__ = [
    "DEFAULT_FAILOVER_SECONDS",
    "ClusterSettings",
    "Role",
    "ServerNode",
    "ServerView",
    "SingleServerLock",
    "single_server_lock",
]

log = logging.getLogger(__name__)

DEFAULT_FAILOVER_SECONDS = 30.0
Hook = Callable[[], Awaitable[None]]


class Role(StrEnum):
    STARTING = "starting"
    FOLLOWER = "follower"
    LEADER = "leader"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """Who this server is for the others, and its timing."""

    name: str
    url: str
    failover_seconds: float = DEFAULT_FAILOVER_SECONDS
    poll_seconds: float = 0.1
    listen: bool = True
    """On PostgreSQL, read the log as soon as the leader's commit is notified (and poll)."""

    @property
    def heartbeat_seconds(self) -> float:
        """How often the leader renews, and followers report and try the lease."""
        return max(0.2, min(2.0, self.failover_seconds / 10))

    @property
    def silence_seconds(self) -> float:
        """How long the leader's heartbeat may stay unchanged before a follower ends its
        session: three heartbeats short of ``failover_seconds``, so that noticing (a follower
        beat), the last heartbeat's age (a leader beat) and the takeover itself fit in it."""
        return max(self.heartbeat_seconds, self.failover_seconds - 3 * self.heartbeat_seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerView:
    """One server as ``GET /servers`` shows it; ``lag`` in log entries behind the head."""

    name: str
    url: str
    role: str
    log_seq: int
    lag: int
    heartbeat_age_seconds: float
    is_alive: bool
    is_self: bool


class SingleServerLock:
    """The one server of a SQLite database: an exclusive lock on ``<database>.server-lock``."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".server-lock")
        self._file: IO[str] | None = None

    def acquire(self) -> SingleServerLock:
        """Take the lock; ConfigurationError if another server holds it."""
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ConfigurationError(
                f"another Dynamo server (pid {holder}) already serves the SQLite database "
                f"{self.path.with_suffix('')}: SQLite allows one server; use PostgreSQL or "
                "MariaDB to run several"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


def single_server_lock(store: SqlInventoryStore) -> SingleServerLock | None:
    """For a SQLite store, its taken :class:`SingleServerLock` (ConfigurationError if another
    server holds it); None for a database that servers can share."""
    if supports_leases(store.engine):
        return None
    return SingleServerLock(Path(str(store.engine.url.database))).acquire()


class ServerNode:
    """This server's role among those sharing the database (see the module docstring)."""

    def __init__(
        self,
        service: InventoryService,
        store: SqlInventoryStore,
        settings: ClusterSettings,
        *,
        on_lead: Hook | None = None,
        on_follow: Hook | None = None,
        partition_compiler: PartitionCompiler | None = None,
        single_lock: SingleServerLock | None = None,
        checkpointer: Checkpointer | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.store = store
        self.settings = settings
        self.on_lead = on_lead
        self.on_follow = on_follow
        self.single_lock = single_lock
        self.checkpointer = checkpointer
        self.follower = LogFollower(service, store, partition_compiler=partition_compiler)
        self.wakeup = LogWakeup(store.engine, listen=settings.listen)
        self.role = Role.STARTING
        self.epoch: int | None = None
        self.leader_url: str | None = None
        self.log_head = service.seq
        self._lease = DatabaseLease(store.engine) if supports_leases(store.engine) else None
        self._clock = clock
        self._monotonic = monotonic
        self._started = self._now_ms()
        self._task: asyncio.Task[None] | None = None
        self._hold_off_until = 0.0
        self._seen_heartbeat: tuple[int, int] | None = None  # (epoch, heartbeat) last read
        self._seen_at = 0.0
        self._last_renewal = 0.0

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER

    @property
    def is_shared(self) -> bool:
        """Whether other servers may share the database (PostgreSQL, MariaDB)."""
        return self._lease is not None

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Catch up with the log, lead if nobody does, and start the heartbeat loop."""
        if self._lease is None:
            self.store.fence = None
            await self.follower.catch_up()  # an image from a checkpoint is behind the log
            await self._become_leader(epoch=None)
        else:
            self.store.fence = refuse_writes
            self.wakeup.start()
            await self.follower.catch_up()
            self.role = Role.FOLLOWER
            await self._beat_as_follower()
        self._task = asyncio.get_running_loop().create_task(self._loop())
        if self.checkpointer is not None:
            self.checkpointer.start()

    async def stop(self) -> None:
        """Stop the loop, the applications and the lease; record the server as stopped."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.wakeup.stop()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        if self.is_leader and self.on_follow is not None:
            await self.on_follow()
        self.store.fence = refuse_writes
        self.role = Role.STOPPED
        if self._lease is not None:
            await asyncio.to_thread(self._lease.release)
        with contextlib.suppress(DynamoError):
            await asyncio.to_thread(self._record)
        if self.single_lock is not None:
            self.single_lock.release()

    async def _loop(self) -> None:
        next_beat = self._monotonic() + self.settings.heartbeat_seconds
        while True:
            await self.wakeup.wait(self.settings.poll_seconds)
            try:
                if not self.is_leader:
                    await self.follower.catch_up()
                if self._monotonic() >= next_beat:
                    next_beat = self._monotonic() + self.settings.heartbeat_seconds
                    if self.is_leader:
                        await self._beat_as_leader()
                    else:
                        await self._beat_as_follower()
            except DynamoError as exc:
                log.warning("%s: %s", self.role, exc)
                if self.is_leader and self._renewal_overdue():
                    await self._step_down(f"no renewal for {self.settings.failover_seconds / 2} s")

    # ------------------------------------------------------------------ leader

    async def _beat_as_leader(self) -> None:
        if self._lease is None:
            await asyncio.to_thread(self._record)
            return
        assert self.epoch is not None
        if not await asyncio.to_thread(self._lease.is_alive):
            await self._step_down("the database session holding the lease ended")
            return
        if not await asyncio.to_thread(
            renew_leadership, self.store.engine, self.epoch, self._now_ms()
        ):
            await self._step_down("another server claimed a later epoch")
            return
        self._last_renewal = self._monotonic()
        self.log_head = self.service.seq
        await asyncio.to_thread(self._record)

    def _renewal_overdue(self) -> bool:
        return self._monotonic() - self._last_renewal > self.settings.failover_seconds / 2

    async def _become_leader(self, epoch: int | None) -> None:
        self.epoch = epoch
        self.role = Role.LEADER
        self.leader_url = self.settings.url
        self._last_renewal = self._monotonic()
        self.log_head = self.service.seq
        log.info(
            "%s leads%s from log seq %d",
            self.settings.name,
            "" if epoch is None else f" at epoch {epoch}",
            self.service.seq,
        )
        if self.on_lead is not None:
            await self.on_lead()
        await asyncio.to_thread(self._record)

    async def _step_down(self, reason: str) -> None:
        log.warning("%s stops leading: %s", self.settings.name, reason)
        self.store.fence = refuse_writes
        self.role = Role.FOLLOWER
        self.epoch = None
        self.leader_url = None
        self._hold_off_until = self._monotonic() + 3 * self.settings.heartbeat_seconds
        if self._lease is not None:
            await asyncio.to_thread(self._lease.release)
        if self.on_follow is not None:
            await self.on_follow()

    # ------------------------------------------------------------------ follower

    async def _beat_as_follower(self) -> None:
        engine = self.store.engine
        leader = await asyncio.to_thread(read_leader, engine)
        self.log_head = await asyncio.to_thread(self.store.last_seq)
        now = self._monotonic()
        if leader is not None and (leader.epoch, leader.heartbeat) != self._seen_heartbeat:
            self._seen_heartbeat = (leader.epoch, leader.heartbeat)
            self._seen_at = now
        is_fresh = leader is not None and now - self._seen_at <= self.settings.silence_seconds
        self.leader_url = leader.url if leader is not None and is_fresh else None
        await asyncio.to_thread(self._record)
        if now < self._hold_off_until or self.service.seq < self.log_head:
            return
        if leader is not None and not is_fresh and leader.db_session is not None:
            log.warning(
                "leader %s has not heartbeated for %.0f s: ending its database sessions",
                leader.server,
                now - self._seen_at,
            )
            await asyncio.to_thread(
                end_silent_leader, engine, leader.db_session, self.settings.heartbeat_seconds
            )
        await self._try_lead()

    async def _try_lead(self) -> None:
        lease = self._lease
        assert lease is not None
        if not await asyncio.to_thread(lease.try_acquire):
            return
        try:
            epoch = await asyncio.to_thread(
                claim_leadership,
                self.store.engine,
                server=self.settings.name,
                url=self.settings.url,
                db_session=lease.session_id,
                now_ms=self._now_ms(),
                wait_seconds=max(1, round(2 * self.settings.heartbeat_seconds)),
            )
            await self.follower.catch_up()  # what the previous leader committed last
        except BaseException:
            await asyncio.to_thread(lease.release)
            raise
        self.store.fence = epoch_fence(epoch)
        await self._become_leader(epoch)

    # ------------------------------------------------------------------ reports

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _record(self) -> None:
        record_server(
            self.store.engine,
            ServerRecord(
                name=self.settings.name,
                url=self.settings.url,
                role=str(self.role),
                log_seq=self.service.seq,
                log_head=max(self.log_head, self.service.seq),
                heartbeat=self._now_ms(),
                started=self._started,
            ),
        )

    def servers(self) -> list[ServerView]:
        """Every server that reported to the database, this one with its live figures.

        Blocking (database reads): call from a worker thread.
        """
        head = self.store.last_seq()
        now = self._now_ms()
        stale_ms = 1000 * max(self.settings.failover_seconds, 3 * self.settings.heartbeat_seconds)
        views = []
        for record in list_servers(self.store.engine):
            is_self = record.name == self.settings.name
            seq = self.service.seq if is_self else record.log_seq
            age = 0 if is_self else max(0, now - record.heartbeat)
            views.append(
                ServerView(
                    name=record.name,
                    url=record.url,
                    role=str(self.role) if is_self else record.role,
                    log_seq=seq,
                    lag=max(0, head - seq),
                    heartbeat_age_seconds=age / 1000,
                    is_alive=is_self or (record.role != Role.STOPPED and age <= stale_ms),
                    is_self=is_self,
                )
            )
        return views
