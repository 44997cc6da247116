"""The tables a source sync writes besides the inventory: users and their grants (``users``,
``user_roles``), the job-queue demand (``queued_jobs``) and the accesses of its popularity
section (``popularity_accesses``).

:func:`write_synced` applies a sync's :class:`UserChanges`, :class:`DemandChanges` and access
records inside the transaction of the inventory commit (a SideWrite): the ChangeSet, the
users, the demand and the popularity land together, or nothing does. The planner
(``dynamo.sources.extras``) reads the current state with :func:`read_users` and
:func:`read_queued_jobs`. Roles and targets are their names (``ROLE_NAMES``,
``TARGET_NAMES``); DNs are stored as given (the planner hands the slash form). Deleting a
user is never done here: a sync only adds users and changes their grants.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, and_, delete, insert, or_, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import StoreError
from dynamo.store.popularity import AccessRecord, write_accesses
from dynamo.store.schema.auth import user_roles, users
from dynamo.store.schema.dealer import queued_jobs
from dynamo.store.sqlops import chunks

__all__ = [
    "SYNC_RECORD",
    "DemandChanges",
    "StoredUser",
    "UserChanges",
    "read_queued_jobs",
    "read_users",
    "synced_record",
    "write_synced",
    "write_synced_records",
]

SYNC_RECORD: Final = "sync"
"""The kind of the record a scheduled sync returns (:func:`synced_record`)."""

Grant = tuple[str, str]  # (role, target)


@dataclass(frozen=True, slots=True)
class StoredUser:
    name: str
    dn: str
    grants: frozenset[Grant]


@dataclass(frozen=True, slots=True)
class UserChanges:
    """Users to add (name, DN), grants to add and to revoke (name, role, target)."""

    add: tuple[tuple[str, str], ...] = ()
    grant: tuple[tuple[str, str, str], ...] = ()
    revoke: tuple[tuple[str, str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.add or self.grant or self.revoke)


@dataclass(frozen=True, slots=True)
class DemandChanges:
    """Rows (dataset, queued, jobs) to upsert; ``replace`` first empties the table (full sync)."""

    rows: tuple[tuple[str, int, int], ...] = ()
    replace: bool = False


def read_users(engine: Engine) -> dict[str, StoredUser]:
    """Every user by name with its grants."""
    try:
        with engine.connect() as conn:
            grants: dict[int, set[Grant]] = {}
            for user_id, role, target in conn.execute(
                select(user_roles.c.user_id, user_roles.c.role, user_roles.c.target)
            ):
                grants.setdefault(user_id, set()).add((role, target))
            return {
                name: StoredUser(name, dn, frozenset(grants.get(user_id, ())))
                for user_id, name, dn in conn.execute(select(users.c.id, users.c.name, users.c.dn))
            }
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the users: {exc}") from exc


def read_queued_jobs(engine: Engine, now: int) -> list[tuple[str, int, int]]:
    """The synced demand queued at or before ``now``: (dataset, queued, jobs), sorted."""
    query = (
        select(queued_jobs.c.dataset, queued_jobs.c.queued, queued_jobs.c.jobs)
        .where(queued_jobs.c.queued <= now)
        .order_by(queued_jobs.c.dataset, queued_jobs.c.queued)
    )
    try:
        with engine.connect() as conn:
            return [(str(d), int(q), int(j)) for d, q, j in conn.execute(query)]
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the queued jobs: {exc}") from exc


def write_synced(
    conn: Connection,
    users_: UserChanges | None,
    demand: DemandChanges | None,
    *,
    now: int,
    accesses: Sequence[AccessRecord] = (),
) -> None:
    """Apply all three on ``conn``, inside the caller's transaction (the inventory commit's:
    a :data:`~dynamo.store.ports.SideWrite`); ``now`` is the new users' creation time. The
    accesses are upserted by (dataset, site, day), as ``record_accesses`` does."""
    if users_:
        _write_users(conn, users_, now)
    if demand is not None:
        _write_demand(conn, demand)
    if accesses:
        write_accesses(conn, accesses)


def synced_record(
    users_: UserChanges | None,
    demand: DemandChanges | None,
    accesses: Sequence[AccessRecord] = (),
) -> dict[str, Any]:
    """All three as one JSON-able record (a scheduled sync's result, written by the record
    sink)."""
    record: dict[str, Any] = {"kind": SYNC_RECORD}
    if accesses:
        record["popularity"] = [[a.dataset, a.site, a.day, a.num_accesses] for a in accesses]
    if users_ is not None:
        record["users"] = {
            "add": [list(a) for a in users_.add],
            "grant": [list(g) for g in users_.grant],
            "revoke": [list(r) for r in users_.revoke],
        }
    if demand is not None:
        record["demand"] = {"rows": [list(r) for r in demand.rows], "replace": demand.replace}
    return record


def write_synced_records(conn: Connection, records: Iterable[dict[str, Any]], now: int) -> None:
    """Apply :func:`synced_record` records (the record sink's side of a sync run)."""
    for record in records:
        found = record.get("users")
        changes = None
        if found is not None:
            changes = UserChanges(
                add=tuple((str(n), str(dn)) for n, dn in found["add"]),
                grant=tuple((str(n), str(r), str(t)) for n, r, t in found["grant"]),
                revoke=tuple((str(n), str(r), str(t)) for n, r, t in found["revoke"]),
            )
        wanted = record.get("demand")
        demand = None
        if wanted is not None:
            demand = DemandChanges(
                rows=tuple((str(d), int(q), int(j)) for d, q, j in wanted["rows"]),
                replace=bool(wanted["replace"]),
            )
        accesses = [
            AccessRecord(str(d), str(s), int(day), int(n))
            for d, s, day, n in record.get("popularity", ())
        ]
        write_synced(conn, changes, demand, now=now, accesses=accesses)


def _write_users(conn: Connection, changes: UserChanges, now: int) -> None:
    if changes.add:
        conn.execute(
            insert(users), [{"name": n, "dn": dn, "created": now} for n, dn in changes.add]
        )
    names = {name for name, _r, _t in changes.grant + changes.revoke}
    ids = dict(conn.execute(select(users.c.name, users.c.id).where(users.c.name.in_(names))).all())
    if changes.revoke:
        conn.execute(
            delete(user_roles).where(
                or_(
                    *(
                        and_(
                            user_roles.c.user_id == ids[name],
                            user_roles.c.role == role,
                            user_roles.c.target == target,
                        )
                        for name, role, target in changes.revoke
                    )
                )
            )
        )
    if changes.grant:
        conn.execute(
            insert(user_roles),
            [{"user_id": ids[n], "role": r, "target": t} for n, r, t in changes.grant],
        )


def _write_demand(conn: Connection, changes: DemandChanges) -> None:
    if changes.replace:
        conn.execute(delete(queued_jobs))
    latest = {(d, q): j for d, q, j in changes.rows}
    for chunk in chunks(sorted(latest), 500):
        if not changes.replace:
            conn.execute(
                delete(queued_jobs).where(
                    tuple_(queued_jobs.c.dataset, queued_jobs.c.queued).in_(chunk)
                )
            )
        conn.execute(
            insert(queued_jobs),
            [{"dataset": d, "queued": q, "jobs": latest[(d, q)]} for d, q in chunk],
        )
