"""PostgreSQL notifications of new ``inventory_log`` entries (LISTEN/NOTIFY).

The leader's epoch fence (:func:`dynamo.store.leadership.epoch_fence`) runs first in every
write transaction; on PostgreSQL it also queues ``NOTIFY dynamo_inventory_log`` (payload: the
leader's epoch). PostgreSQL delivers a notification only when its transaction commits, so a
listener is woken exactly when new entries may be readable, never for a rolled-back write. The
payload is not the new seq: the fence runs before the log row is inserted. A follower needs no
seq anyway: it reads every entry after its own.

:class:`LogListener` holds a connection of its own in a thread and calls ``on_notify`` for
each notification (and once after every (re)connection, since notifications sent while it
was not listening are lost). It is a hint, not the truth: followers keep polling the log as a
fallback, and MariaDB has no notifications, so polling is its only way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Final

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["CHANNEL", "LogListener", "supports_notify"]

log = logging.getLogger(__name__)

CHANNEL: Final = "dynamo_inventory_log"
_LISTEN: Final = text("LISTEN dynamo_inventory_log")  # CHANNEL
_WAIT_SECONDS: Final = 0.5
"""How long one wait for notifications lasts before the thread checks whether to stop."""


def supports_notify(engine: Engine) -> bool:
    """Whether the database can notify listeners of commits (PostgreSQL)."""
    return engine.dialect.name == "postgresql"


class LogListener:
    """A thread listening on :data:`CHANNEL`; ``on_notify`` runs in that thread."""

    def __init__(self, engine: Engine, on_notify: Callable[[], None]) -> None:
        if not supports_notify(engine):
            raise ValueError(f"no notifications on {engine.dialect.name}")
        self._engine = engine
        self._on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-listener", daemon=True)
        self.connected = threading.Event()
        """Set while the listener is connected and listening."""

    def start(self) -> LogListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (blocks for at most about half a second)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except (SQLAlchemyError, psycopg.Error, OSError) as exc:
                self.connected.clear()
                log.warning("listening for log notifications failed (%s): retrying in 1 s", exc)
                self._stop.wait(1.0)

    def _listen(self) -> None:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(_LISTEN)
            driver = conn.connection.driver_connection
            assert driver is not None
            self.connected.set()
            self._on_notify()  # what was committed before LISTEN took effect
            while not self._stop.is_set():
                for _ in driver.notifies(timeout=_WAIT_SECONDS):
                    self._on_notify()
        finally:
            self.connected.clear()
            conn.invalidate()  # never return a listening session to the pool
            conn.close()
