"""The leader lease of the inventory servers sharing one PostgreSQL or MariaDB database.

- :class:`DatabaseLease` holds the lease on a dedicated connection: a PostgreSQL session
  advisory lock (``pg_try_advisory_lock``, per database) or a MariaDB/MySQL named lock
  (``GET_LOCK``, named after the database). The database releases it the moment the holding
  session ends: the process died, or the connection was cut.
- :func:`claim_leadership` bumps the ``epoch`` of the ``leadership`` row once the lease is
  held. The claim locks that row, so it waits for a write of the previous leader still in
  flight; everything that leader committed is in the log when the claim returns.
- :func:`epoch_fence` is the check every write transaction of the leader makes first (the
  store calls it, see ``SqlInventoryStore.fence``): it locks the row and raises
  :class:`NotLeaderError` unless the epoch is still the leader's own. A deposed leader can
  therefore never commit, whatever it believes.
- A leader that hangs (stopped, swapped out) may do so inside a write transaction, holding
  the lock of the ``leadership`` row that its fence took: the claim of the next leader would
  wait for it forever. :func:`end_stale_transactions` ends the sessions that sit idle inside a
  transaction holding locks, and :func:`claim_leadership` waits a bounded time for the row.
- ``servers`` rows are what each server reports of itself (:func:`record_server`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, Engine, TextClause, delete, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import StoreError
from dynamo.store.lognotify import CHANNEL
from dynamo.store.schema.servers import leadership, servers
from dynamo.store.sqlops import driver_message, reading

__all__ = [
    "ADVISORY_LOCK_KEY",
    "DatabaseLease",
    "Leader",
    "NotLeaderError",
    "ServerRecord",
    "claim_leadership",
    "end_silent_leader",
    "end_stale_transactions",
    "epoch_fence",
    "list_servers",
    "read_leader",
    "record_server",
    "refuse_writes",
    "renew_leadership",
    "supports_leases",
    "terminate_session",
]

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY: Final = 0x44594E414D4F
"""The PostgreSQL advisory lock key of the lease ("DYNAMO"); advisory locks are per database."""

_ROW: Final = 1
_PG_UNLOCK: Final = text("SELECT pg_advisory_unlock(:key)")
_MARIADB_UNLOCK: Final = text("SELECT RELEASE_LOCK(:name)")


class NotLeaderError(StoreError):
    """This server is not (or no longer) the leader: its write was refused, nothing changed."""

    code = "not_leader"


@dataclass(frozen=True, slots=True, kw_only=True)
class Leader:
    """The ``leadership`` row: who leads, since which epoch, and its last heartbeat (ms)."""

    epoch: int
    server: str | None
    url: str | None
    db_session: int | None
    heartbeat: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerRecord:
    """A ``servers`` row: a server's own report (times in ms since the epoch)."""

    name: str
    url: str
    role: str
    log_seq: int
    log_head: int
    heartbeat: int
    started: int


def supports_leases(engine: Engine) -> bool:
    """Whether several servers can share this database (not SQLite)."""
    return engine.dialect.name in ("postgresql", "mysql", "mariadb")


class DatabaseLease:
    """The leader lease, held on a connection of its own for as long as it is held."""

    def __init__(self, engine: Engine) -> None:
        if not supports_leases(engine):
            raise StoreError(f"no leader lease on {engine.dialect.name}")
        self._engine = engine
        self._conn: Connection | None = None
        self._unlock: tuple[TextClause, dict[str, object]] = (_PG_UNLOCK, {})
        """The statement (and its parameters) that lets go of the lock taken."""
        self.session_id: int | None = None

    @property
    def is_held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lease if no other session holds it; True if this lease now holds it."""
        if self._conn is not None:
            return True
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StoreError(f"connecting for the lease failed: {driver_message(exc)}") from exc
        try:
            if self._engine.dialect.name == "postgresql":
                taken = conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
                ).scalar()
                session = conn.execute(text("SELECT pg_backend_pid()")).scalar()
                self._unlock = (_PG_UNLOCK, {"key": ADVISORY_LOCK_KEY})
            else:
                name = _lock_name(conn)
                taken = conn.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name}).scalar()
                session = conn.execute(text("SELECT CONNECTION_ID()")).scalar()
                self._unlock = (_MARIADB_UNLOCK, {"name": name})
        except SQLAlchemyError as exc:
            conn.invalidate()
            conn.close()
            raise StoreError(f"taking the lease failed: {driver_message(exc)}") from exc
        if not taken:
            conn.close()
            return False
        self._conn = conn
        self.session_id = int(session or 0)
        return True

    def is_alive(self) -> bool:
        """Whether the lease is still held: its session answers (False drops the lease)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1")).scalar()
        except SQLAlchemyError:
            self._drop(invalidate=True)
            return False
        return True

    def release(self) -> None:
        """Give the lease up: unlock it, then close the session.

        Closing alone would release it too, but only once the database has noticed the
        disconnection; the explicit unlock makes the lease free when this returns.
        """
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):  # a cut session has released it anyway
                conn.execute(*self._unlock)
        self._drop(invalidate=True)

    def _drop(self, *, invalidate: bool) -> None:
        conn, self._conn, self.session_id = self._conn, None, None
        if conn is None:
            return
        try:
            if invalidate:  # never return a lock-holding session to the pool
                conn.invalidate()
            conn.close()
        except SQLAlchemyError:
            pass


def _lock_name(conn: Connection) -> str:
    """MariaDB locks are per server, so the name carries the database (at most 64 chars)."""
    database = str(conn.execute(text("SELECT DATABASE()")).scalar() or "")
    name = f"dynamo.leader.{database}"
    if len(name) > 64:
        name = "dynamo.leader." + hashlib.sha256(database.encode()).hexdigest()[:40]
    return name


def claim_leadership(
    engine: Engine,
    *,
    server: str,
    url: str,
    db_session: int | None,
    now_ms: int,
    wait_seconds: int | None = None,
) -> int:
    """Make ``server`` the leader at a new epoch and return it (call with the lease held).

    ``wait_seconds`` bounds the wait for the row lock (a StoreError after it; None waits as
    long as the database does): a hung previous leader may hold it.
    """
    table = leadership
    values = {"server": server, "url": url, "db_session": db_session, "heartbeat": now_ms}
    with reading(engine, "claiming the leadership") as conn:
        if wait_seconds is None:
            found = conn.execute(
                select(table.c.epoch).where(table.c.id == _ROW).with_for_update()
            ).scalar()
        else:
            found = _epoch_waiting_at_most(conn, wait_seconds)
        epoch = int(found or 0) + 1
        if found is None:
            conn.execute(insert(table).values(id=_ROW, epoch=epoch, **values))
        else:
            conn.execute(update(table).where(table.c.id == _ROW).values(epoch=epoch, **values))
    return epoch


def _epoch_waiting_at_most(conn: Connection, seconds: int) -> object:
    """The epoch, locked ``FOR UPDATE`` within ``seconds`` (a lock timeout error otherwise)."""
    wait = max(1, int(seconds))
    query = text("SELECT epoch FROM leadership WHERE id = :id FOR UPDATE")
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": f"{wait}s"})
        return conn.execute(query, {"id": _ROW}).scalar()
    if getattr(conn.dialect, "is_mariadb", False):
        return conn.execute(text(f"{query.text} WAIT {wait}"), {"id": _ROW}).scalar()
    conn.execute(text(f"SET SESSION innodb_lock_wait_timeout = {wait}"))  # MySQL
    try:
        return conn.execute(query, {"id": _ROW}).scalar()
    finally:
        with contextlib.suppress(SQLAlchemyError):
            conn.execute(text("SET SESSION innodb_lock_wait_timeout = DEFAULT"))


def renew_leadership(engine: Engine, epoch: int, now_ms: int) -> bool:
    """Heartbeat of the leader; False when another server has claimed a later epoch."""
    table = leadership
    with reading(engine, "renewing the leadership") as conn:
        found = conn.execute(
            select(table.c.epoch).where(table.c.id == _ROW).with_for_update()
        ).scalar()
        if found != epoch:
            return False
        conn.execute(update(table).where(table.c.id == _ROW).values(heartbeat=now_ms))
    return True


def read_leader(engine: Engine) -> Leader | None:
    """The ``leadership`` row, or None when no server has ever led."""
    table = leadership
    with reading(engine, "reading the leadership") as conn:
        row = conn.execute(select(table).where(table.c.id == _ROW)).first()
    if row is None:
        return None
    return Leader(
        epoch=int(row.epoch),
        server=row.server,
        url=row.url,
        db_session=None if row.db_session is None else int(row.db_session),
        heartbeat=int(row.heartbeat),
    )


_PG_FENCE: Final = text(
    f"SELECT epoch, pg_notify('{CHANNEL}', :epoch) FROM leadership WHERE id = :id FOR UPDATE"
)


def epoch_fence(epoch: int) -> Callable[[Connection], None]:
    """The check a write transaction of the leader at ``epoch`` makes before writing.

    On PostgreSQL the same statement queues a notification on
    :data:`dynamo.store.lognotify.CHANNEL`, delivered to the listening followers if and when
    the transaction commits.
    """
    table = leadership

    def check(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":  # and wake the listening followers at commit
            found = conn.execute(_PG_FENCE, {"id": _ROW, "epoch": str(epoch)}).scalar()
        else:
            found = conn.execute(
                select(table.c.epoch).where(table.c.id == _ROW).with_for_update()
            ).scalar()
        if found != epoch:
            raise NotLeaderError(
                f"this server led at epoch {epoch}, the database is at epoch {found}: "
                "another server is the leader; nothing was written"
            )

    return check


def refuse_writes(conn: Connection) -> None:
    """The fence of a server that is not the leader."""
    raise NotLeaderError("this server is not the leader; nothing was written")


_PG_SESSION: Final = text("SELECT 1 FROM pg_stat_activity WHERE pid = :session")
_MARIADB_SESSION: Final = text("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = :session")


def terminate_session(engine: Engine, session: int, *, wait_seconds: float = 5.0) -> None:
    """End the database session ``session`` (a leader that stopped heartbeating).

    Both databases end a session asynchronously: ``pg_terminate_backend`` only signals it,
    and a MariaDB thread marked by ``KILL`` releases its named locks when it next looks at
    the mark. So this waits, at most ``wait_seconds``, until the session is gone, and what
    it held (the lease) is free when it returns.
    """
    _end_sessions(engine, [session], wait_seconds, strict=True)


def _end_sessions(
    engine: Engine, sessions: list[int], wait_seconds: float, *, strict: bool
) -> list[int]:
    """End ``sessions``, then wait (once, at most ``wait_seconds``) until they are gone; the
    ones ended. A session that cannot be ended raises StoreError if ``strict``, else is
    skipped (it ended by itself meanwhile)."""
    is_postgres = engine.dialect.name == "postgresql"
    ended: list[int] = []
    try:
        with engine.connect() as conn:
            for session in sessions:
                try:
                    if is_postgres:
                        conn.execute(
                            text("SELECT pg_terminate_backend(CAST(:pid AS INTEGER))"),
                            {"pid": session},
                        )
                    else:
                        conn.execute(text(f"KILL CONNECTION {int(session)}"))
                except SQLAlchemyError:
                    if strict:
                        raise
                    conn.rollback()
                    continue
                ended.append(session)
            conn.rollback()
            _wait_gone(conn, ended, time.monotonic() + wait_seconds)
    except SQLAlchemyError as exc:
        raise StoreError(f"ending sessions {sessions} failed: {driver_message(exc)}") from exc
    return ended


def _wait_gone(conn: Connection, sessions: list[int], deadline: float) -> None:
    """Poll the activity view until none of ``sessions`` is listed, or ``deadline`` passes."""
    query = _PG_SESSION if conn.dialect.name == "postgresql" else _MARIADB_SESSION
    for session in sessions:
        while conn.execute(query, {"session": session}).first() is not None:
            conn.rollback()  # a fresh snapshot of the activity views next time
            if time.monotonic() >= deadline:
                log.warning("database session %d is still there after ending it", session)
                return
            time.sleep(0.02)


_PG_STALE: Final = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    " AND state IN ('idle in transaction', 'idle in transaction (aborted)')"
    " AND state_change < clock_timestamp() - make_interval(secs => :seconds)"
)
_MARIADB_STALE: Final = text(
    "SELECT p.ID FROM information_schema.PROCESSLIST p"
    " JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID"
    " WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID() AND p.COMMAND = 'Sleep'"
    " AND p.TIME >= :seconds AND t.trx_lock_structs > 0"
)


def end_stale_transactions(engine: Engine, idle_seconds: float) -> list[int]:
    """End every session of this database idle for ``idle_seconds`` or more inside a
    transaction that holds locks (a hung process: no healthy Dynamo client leaves a writing
    transaction idle that long); returns their session ids."""
    is_postgres = engine.dialect.name == "postgresql"
    seconds = float(idle_seconds) if is_postgres else max(1, int(idle_seconds))
    try:
        with engine.connect() as conn:
            found = conn.execute(_PG_STALE if is_postgres else _MARIADB_STALE, {"seconds": seconds})
            sessions = [int(row[0]) for row in found]
            conn.rollback()
    except SQLAlchemyError as exc:
        raise StoreError(f"listing stale transactions failed: {driver_message(exc)}") from exc
    return _end_sessions(engine, sessions, 5.0, strict=False)


def end_silent_leader(engine: Engine, lease_session: int, idle_seconds: float) -> None:
    """End the lease session of a leader that stopped heartbeating, and the sessions idle in a
    locking transaction for ``idle_seconds`` (a leader hung mid-write holds the leadership
    row). Failures are logged, not raised: the claim that follows waits a bounded time."""
    with contextlib.suppress(StoreError):  # it may have ended already
        terminate_session(engine, lease_session)
    try:
        ended = end_stale_transactions(engine, idle_seconds)
    except StoreError as exc:  # e.g. no PROCESS privilege on MariaDB
        log.warning("cannot end the transactions a silent leader may hold: %s", exc)
        return
    if ended:
        log.warning("ended database sessions %s, idle inside a transaction", ended)


def record_server(engine: Engine, record: ServerRecord) -> None:
    """Insert or replace the row of ``record.name``."""
    table = servers
    values = {
        "url": record.url,
        "role": record.role,
        "log_seq": record.log_seq,
        "log_head": record.log_head,
        "heartbeat": record.heartbeat,
        "started": record.started,
    }
    with reading(engine, "recording the server") as conn:
        changed = conn.execute(
            update(table).where(table.c.name == record.name).values(**values)
        ).rowcount
        if not changed:
            conn.execute(delete(table).where(table.c.name == record.name))
            conn.execute(insert(table).values(name=record.name, **values))


def list_servers(engine: Engine) -> list[ServerRecord]:
    """Every ``servers`` row, by name."""
    table = servers
    with reading(engine, "listing the servers") as conn:
        rows = conn.execute(select(table).order_by(table.c.name)).all()
    return [
        ServerRecord(
            name=row.name,
            url=row.url,
            role=row.role,
            log_seq=int(row.log_seq),
            log_head=int(row.log_head),
            heartbeat=int(row.heartbeat),
            started=int(row.started),
        )
        for row in rows
    ]
