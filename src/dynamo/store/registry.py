"""SqlRegistryStore: the RegistryStore port on the store's database (SQLite, PostgreSQL, MariaDB).

Requests and locks are written directly in their tables (:mod:`dynamo.store.schema.registry`),
not through inventory ChangeSets. Every change runs in one transaction under a process-wide
lock (on SQLite an IMMEDIATE transaction), and the rules are those of :mod:`dynamo.registry`,
applied to the rows read inside that transaction: a duplicate submission can never create a
second record, and a refused change writes nothing. One server process writes the registry
(the leader), so these locks make it race-free.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import NotFoundError, StoreError
from dynamo.registry import (
    MAX_ID,
    OPEN_STATUSES,
    ActionStatus,
    LockDraft,
    LockQuery,
    MemoryRegistryStore,
    RegistryStore,
    ReplicaLock,
    Request,
    RequestAction,
    RequestDraft,
    RequestKind,
    RequestQuery,
    RequestStatus,
    bump,
    cancel,
    find_duplicate,
    find_renewable,
    new_lock,
    new_request,
    release,
    renew,
    transition,
)
from dynamo.store.ports import InventoryStore
from dynamo.store.schema.registry import (
    replica_locks,
    request_actions,
    request_items,
    request_sites,
    requests,
)
from dynamo.store.sql import SqlInventoryStore
from dynamo.store.sqlops import driver_message

__all__ = ["SqlRegistryStore", "registry_store_for"]


def registry_store_for(store: InventoryStore) -> RegistryStore:
    """The registry next to an inventory store: its database, or memory for a memory store."""
    if isinstance(store, SqlInventoryStore):
        return SqlRegistryStore(store.engine)
    return MemoryRegistryStore()


class SqlRegistryStore:
    """A :class:`dynamo.registry.RegistryStore` in the registry tables of ``engine``'s database
    (which must be migrated: :func:`dynamo.store.migrate`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _writing(self, what: str) -> Iterator[Connection]:
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                    with conn.begin():
                        yield conn
            except SQLAlchemyError as exc:
                raise StoreError(
                    f"{what} failed, nothing was written: {driver_message(exc)}"
                ) from exc

    @contextmanager
    def _reading(self, what: str) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"{what} failed: {driver_message(exc)}") from exc

    # ------------------------------------------------------------------ requests

    def submit_request(self, draft: RequestDraft, now: int) -> tuple[Request, bool]:
        with self._writing("storing a request") as conn:
            open_ids = conn.scalars(
                select(requests.c.id).where(
                    requests.c.kind == draft.kind.value,
                    requests.c.user_name == draft.user,
                    requests.c.status.in_(sorted(s.value for s in OPEN_STATUSES)),
                    requests.c.group_name.is_(None)
                    if draft.group is None
                    else requests.c.group_name == draft.group,
                )
            ).all()
            duplicate = find_duplicate(_load_requests(conn, open_ids), draft)
            if duplicate is not None:
                bumped = bump(duplicate, now)
                conn.execute(
                    update(requests)
                    .where(requests.c.id == bumped.id)
                    .values(request_count=bumped.request_count, last_request=bumped.last_request)
                )
                return bumped, False
            request_id = _insert_request(conn, draft, now)
            return new_request(draft, request_id, now), True

    def get_request(self, request_id: int) -> Request:
        with self._reading("reading a request") as conn:
            return _one_request(conn, request_id, for_update=False)

    def find_requests(self, query: RequestQuery) -> list[Request]:
        statement = select(requests.c.id).order_by(requests.c.id.desc()).limit(query.limit)
        if query.ids:
            statement = statement.where(requests.c.id.in_(_storable(query.ids)))
        if query.kind is not None:
            statement = statement.where(requests.c.kind == query.kind.value)
        if query.statuses:
            statement = statement.where(requests.c.status.in_([s.value for s in query.statuses]))
        if query.user is not None:
            statement = statement.where(requests.c.user_name == query.user)
        if query.item is not None:
            statement = statement.where(
                select(request_items.c.request_id)
                .where(
                    request_items.c.request_id == requests.c.id,
                    request_items.c.item == query.item,
                )
                .exists()
            )
        if query.site is not None:
            statement = statement.where(
                select(request_sites.c.request_id)
                .where(
                    request_sites.c.request_id == requests.c.id,
                    request_sites.c.site == query.site,
                )
                .exists()
            )
        with self._reading("listing requests") as conn:
            found = _load_requests(conn, conn.scalars(statement).all())
        return sorted(found, key=lambda r: -r.id)

    def cancel_request(self, request_id: int, *, dn: str, is_privileged: bool) -> Request:
        with self._writing("cancelling a request") as conn:
            cancelled = cancel(_one_request(conn, request_id), dn=dn, is_privileged=is_privileged)
            _update_status(conn, cancelled)
            return cancelled

    def update_request(
        self,
        request_id: int,
        status: RequestStatus,
        *,
        reject_reason: str | None = None,
        actions: tuple[RequestAction, ...] | None = None,
    ) -> Request:
        with self._writing("updating a request") as conn:
            updated = transition(
                _one_request(conn, request_id), status, reject_reason=reject_reason, actions=actions
            )
            _update_status(conn, updated)
            if actions is not None:
                conn.execute(
                    delete(request_actions).where(request_actions.c.request_id == request_id)
                )
                _insert_actions(conn, request_id, actions)
            return updated

    # ------------------------------------------------------------------ locks

    def submit_lock(self, draft: LockDraft, now: int) -> tuple[ReplicaLock, bool]:
        with self._writing("storing a lock") as conn:
            rows = conn.execute(
                select(replica_locks).where(
                    replica_locks.c.dn == draft.dn,
                    replica_locks.c.service == draft.service,
                    replica_locks.c.item == draft.item,
                    replica_locks.c.released.is_(None),
                    replica_locks.c.expires > now,
                )
            ).all()
            renewable = find_renewable(map(_lock, rows), draft, now)
            if renewable is not None:
                renewed = renew(renewable, draft)
                conn.execute(
                    update(replica_locks)
                    .where(replica_locks.c.id == renewed.id)
                    .values(expires=renewed.expires, comment=renewed.comment)
                )
                return renewed, False
            key = conn.execute(
                insert(replica_locks).values(
                    item=draft.item,
                    sites=draft.sites,
                    groups=draft.groups,
                    expires=draft.expires,
                    comment=draft.comment,
                    user_name=draft.user,
                    dn=draft.dn,
                    service=draft.service,
                    created=now,
                )
            ).inserted_primary_key
            return new_lock(draft, _new_id(key), now), True

    def get_lock(self, lock_id: int) -> ReplicaLock:
        with self._reading("reading a lock") as conn:
            return _one_lock(conn, lock_id, for_update=False)

    def find_locks(self, query: LockQuery, now: int) -> list[ReplicaLock]:
        statement = select(replica_locks).order_by(replica_locks.c.id.desc())
        if query.ids:
            statement = statement.where(replica_locks.c.id.in_(_storable(query.ids)))
        if query.user is not None:
            statement = statement.where(replica_locks.c.user_name == query.user)
        if query.service is not None:
            statement = statement.where(replica_locks.c.service == query.service)
        if query.active is True:
            statement = statement.where(
                replica_locks.c.released.is_(None), replica_locks.c.expires > now
            )
        with self._reading("listing locks") as conn:
            rows = conn.execute(statement).all()
        return [lock for lock in map(_lock, rows) if query.matches(lock, now)]

    def release_lock(self, lock_id: int, *, dn: str, is_admin: bool, now: int) -> ReplicaLock:
        with self._writing("releasing a lock") as conn:
            released = release(_one_lock(conn, lock_id), dn=dn, is_admin=is_admin, now=now)
            conn.execute(
                update(replica_locks)
                .where(replica_locks.c.id == lock_id)
                .values(released=released.released)
            )
            return released


# ---------------------------------------------------------------------- rows <-> records


def _storable(ids: Sequence[int]) -> list[int]:
    """The ids a row can have (a larger int cannot even be sent to SQLite)."""
    return [i for i in ids if 1 <= i <= MAX_ID]


def _new_id(key: Any) -> int:
    if key is None:  # pragma: no cover - every backend reports the new id
        raise StoreError("the database did not report the new id")
    return int(key[0])


def _insert_request(conn: Connection, draft: RequestDraft, now: int) -> int:
    request_id = _new_id(
        conn.execute(
            insert(requests).values(
                kind=draft.kind.value,
                status=RequestStatus.NEW.value,
                user_name=draft.user,
                dn=draft.dn,
                group_name=draft.group,
                n=draft.n,
                first_request=now,
                last_request=now,
                request_count=1,
            )
        ).inserted_primary_key
    )
    conn.execute(
        insert(request_items), [{"request_id": request_id, "item": i} for i in draft.items]
    )
    conn.execute(
        insert(request_sites), [{"request_id": request_id, "site": s} for s in draft.sites]
    )
    return request_id


def _insert_actions(conn: Connection, request_id: int, actions: Sequence[RequestAction]) -> None:
    if actions:
        conn.execute(
            insert(request_actions),
            [
                {
                    "request_id": request_id,
                    "item": a.item,
                    "site": a.site,
                    "status": a.status.value,
                    "last_update": a.last_update,
                }
                for a in actions
            ],
        )


def _update_status(conn: Connection, request: Request) -> None:
    conn.execute(
        update(requests)
        .where(requests.c.id == request.id)
        .values(status=request.status.value, reject_reason=request.reject_reason)
    )


def _one_request(conn: Connection, request_id: int, *, for_update: bool = True) -> Request:
    found = _load_requests(conn, _storable([request_id]), for_update=for_update)
    if not found:
        raise NotFoundError(f"no request with id {request_id}")
    return found[0]


def _load_requests(
    conn: Connection, ids: Sequence[int], *, for_update: bool = False
) -> list[Request]:
    """The requests with ``ids``, whole (items, sites, actions), in id order."""
    if not ids:
        return []
    statement = select(requests).where(requests.c.id.in_(ids)).order_by(requests.c.id)
    rows = conn.execute(statement.with_for_update() if for_update else statement).all()
    items: dict[int, list[str]] = {}
    for request_id, item in conn.execute(
        select(request_items.c.request_id, request_items.c.item)
        .where(request_items.c.request_id.in_(ids))
        .order_by(request_items.c.item)
    ):
        items.setdefault(request_id, []).append(item)
    sites: dict[int, list[str]] = {}
    for request_id, site in conn.execute(
        select(request_sites.c.request_id, request_sites.c.site)
        .where(request_sites.c.request_id.in_(ids))
        .order_by(request_sites.c.site)
    ):
        sites.setdefault(request_id, []).append(site)
    actions: dict[int, list[RequestAction]] = {}
    for row in conn.execute(
        select(request_actions)
        .where(request_actions.c.request_id.in_(ids))
        .order_by(request_actions.c.item, request_actions.c.site)
    ):
        actions.setdefault(row.request_id, []).append(
            RequestAction(
                item=row.item,
                site=row.site,
                status=ActionStatus(row.status),
                last_update=row.last_update,
            )
        )
    return [
        _request(row, items.get(row.id, []), sites.get(row.id, []), actions.get(row.id, []))
        for row in rows
    ]


def _request(
    row: Row[Any], items: list[str], sites: list[str], actions: list[RequestAction]
) -> Request:
    # Items and sites come back in the database's collation; records keep Python's sort order.
    return Request(
        id=row.id,
        kind=RequestKind(row.kind),
        user=row.user_name,
        dn=row.dn,
        status=RequestStatus(row.status),
        items=tuple(sorted(items)),
        sites=tuple(sorted(sites)),
        group=row.group_name,
        n=row.n,
        first_request=row.first_request,
        last_request=row.last_request,
        request_count=row.request_count,
        reject_reason=row.reject_reason,
        actions=tuple(actions),
    )


def _one_lock(conn: Connection, lock_id: int, *, for_update: bool = True) -> ReplicaLock:
    if not _storable([lock_id]):
        raise NotFoundError(f"no lock with id {lock_id}")
    statement = select(replica_locks).where(replica_locks.c.id == lock_id)
    row = conn.execute(statement.with_for_update() if for_update else statement).first()
    if row is None:
        raise NotFoundError(f"no lock with id {lock_id}")
    return _lock(row)


def _lock(row: Row[Any]) -> ReplicaLock:
    return ReplicaLock(
        id=row.id,
        item=row.item,
        sites=row.sites,
        groups=row.groups,
        expires=row.expires,
        comment=row.comment,
        user=row.user_name,
        dn=row.dn,
        service=row.service,
        created=row.created,
        released=row.released,
    )
