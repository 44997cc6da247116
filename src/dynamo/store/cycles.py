"""The cycle rows of the applications' history (``detox_cycles``, ``dealer_cycles``): the
writes the Detox and Dealer histories share.

A cycle table has the columns ``id``, ``partition``, ``mode`` (``run``, or ``test`` for a dry
run), ``status``, ``started``, ``finished``, ``seed``, ``run_id``, ``log_seq`` and a JSON
``summary``; an application's own columns (Detox's policy) are passed through. The status goes
``planned`` -> ``committed`` (:func:`commit_planned`, in the transaction that commits the
cycle's ChangeSet) or ``abandoned`` (:func:`abandon_planned`, a process died before the commit);
a dry run is ``test`` from the start and a cycle that could not plan is ``failed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, update
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import StoreError
from dynamo.store.sqlops import driver_message

__all__ = ["abandon_planned", "commit_planned", "insert_failed", "insert_planned", "recording"]


@contextmanager
def recording(engine: Engine, application: str) -> Iterator[Connection]:
    """A transaction that records a cycle; a database failure is a StoreError "cannot record
    the ``application`` cycle"."""
    try:
        with engine.begin() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot record the {application} cycle: {driver_message(exc)}") from exc


def insert_planned(
    conn: Connection,
    table: Table,
    *,
    partition: str,
    dry_run: bool,
    started: int,
    finished: int,
    seed: int,
    run_id: int | None,
    summary: dict[str, Any],
    **columns: Any,
) -> int:
    """Insert a cycle that planned: ``planned``, or ``test`` and finished for a dry run;
    ``columns`` are the application's own. Returns its id."""
    return _insert(
        conn,
        table,
        partition=partition,
        mode="test" if dry_run else "run",
        status="test" if dry_run else "planned",
        started=started,
        finished=finished if dry_run else None,
        seed=seed,
        run_id=run_id,
        summary=orjson.dumps(summary).decode(),
        **columns,
    )


def insert_failed(
    conn: Connection,
    table: Table,
    *,
    partition: str,
    error: str,
    started: int,
    finished: int,
    run_id: int | None,
    **columns: Any,
) -> int:
    """Insert a cycle that could not plan (status ``failed``, summary ``{"error": error}``);
    returns its id."""
    return _insert(
        conn,
        table,
        partition=partition,
        mode="run",
        status="failed",
        started=started,
        finished=finished,
        seed=0,
        run_id=run_id,
        summary=orjson.dumps({"error": error}).decode(),
        **columns,
    )


def commit_planned(
    conn: Connection,
    table: Table,
    cycle_id: int,
    *,
    application: str,
    log_seq: int | None,
    now: int,
) -> None:
    """Mark planned cycle ``cycle_id`` committed at ``log_seq``; a StoreError if it is not a
    planned cycle (then the caller's transaction commits nothing)."""
    changed = conn.execute(
        update(table)
        .where(table.c.id == cycle_id, table.c.status == "planned")
        .values(status="committed", log_seq=log_seq, finished=now)
    ).rowcount
    if changed != 1:
        raise StoreError(
            f"{application} cycle {cycle_id} is not a planned cycle; nothing was committed"
        )


def abandon_planned(engine: Engine, table: Table, *, what: str, now: int) -> int:
    """Mark the ``planned`` cycles of ``table`` (a process died before committing them) as
    ``abandoned``; returns how many. ``what`` names the history in errors."""
    try:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    update(table)
                    .where(table.c.status == "planned")
                    .values(status="abandoned", finished=now)
                ).rowcount
            )
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot update the {what}: {driver_message(exc)}") from exc


def _insert(conn: Connection, table: Table, **values: Any) -> int:
    key = conn.execute(table.insert().values(**values)).inserted_primary_key
    if key is None:  # pragma: no cover - every backend reports it
        raise StoreError("the database did not report the new cycle id")
    return int(key[0])
