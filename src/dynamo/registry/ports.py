"""The port through which requests and locks are stored, and its in-memory implementation.

Contract (checked by ``tests/contract/registry`` on every implementation):

- ids are positive, increasing, never reused, at most :data:`MAX_ID`; an id outside that range
  is simply not found;
- :meth:`RegistryStore.submit_request` and :meth:`RegistryStore.submit_lock` are atomic: the
  duplicate/renewal check and the write happen under one lock (and one transaction), so two
  identical submissions never create two records;
- every method that changes a record returns it as stored; unknown ids raise NotFoundError and
  rule violations the errors of :mod:`dynamo.registry.errors` (nothing is written then);
- listings are newest first (highest id first).
"""

from __future__ import annotations

import threading
from typing import Final, Protocol

from dynamo.errors import NotFoundError
from dynamo.registry.locks import (
    LockDraft,
    LockQuery,
    ReplicaLock,
    find_renewable,
    new_lock,
    release,
    renew,
)
from dynamo.registry.requests import (
    Request,
    RequestAction,
    RequestDraft,
    RequestQuery,
    RequestStatus,
    bump,
    cancel,
    find_duplicate,
    new_request,
    transition,
)

__all__ = ["MAX_ID", "MemoryRegistryStore", "RegistryStore"]

MAX_ID: Final = 2**63 - 1
"""The largest id a request or lock can have (a signed 64-bit integer in every database)."""


class RegistryStore(Protocol):
    """Copy and deletion requests and replica locks. Times are epoch seconds."""

    def submit_request(self, draft: RequestDraft, now: int) -> tuple[Request, bool]:
        """Store ``draft`` as a new request, or bump the open duplicate; ``(request, created)``."""
        ...

    def get_request(self, request_id: int) -> Request:
        """The request ``request_id`` with its items, sites and actions (NotFoundError)."""
        ...

    def find_requests(self, query: RequestQuery) -> list[Request]:
        """The requests matching ``query``, newest first, at most ``query.limit``."""
        ...

    def cancel_request(self, request_id: int, *, dn: str, is_privileged: bool) -> Request:
        """Cancel a ``new`` request (see :func:`dynamo.registry.cancel`)."""
        ...

    def update_request(
        self,
        request_id: int,
        status: RequestStatus,
        *,
        reject_reason: str | None = None,
        actions: tuple[RequestAction, ...] | None = None,
    ) -> Request:
        """Move a request on (see :func:`dynamo.registry.transition`); actions replace all."""
        ...

    def submit_lock(self, draft: LockDraft, now: int) -> tuple[ReplicaLock, bool]:
        """Store ``draft`` as a new lock, or renew the active lock it repeats;
        ``(lock, created)``."""
        ...

    def get_lock(self, lock_id: int) -> ReplicaLock:
        """The lock ``lock_id`` (NotFoundError)."""
        ...

    def find_locks(self, query: LockQuery, now: int) -> list[ReplicaLock]:
        """The locks matching ``query`` at ``now``, newest first."""
        ...

    def release_lock(self, lock_id: int, *, dn: str, is_admin: bool, now: int) -> ReplicaLock:
        """Release a lock (see :func:`dynamo.registry.release`)."""
        ...


class MemoryRegistryStore:
    """A :class:`RegistryStore` in dictionaries (tests, dry runs, servers without a database)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[int, Request] = {}
        self._locks: dict[int, ReplicaLock] = {}

    def submit_request(self, draft: RequestDraft, now: int) -> tuple[Request, bool]:
        with self._lock:
            duplicate = find_duplicate(self._requests.values(), draft)
            if duplicate is not None:
                stored = self._requests[duplicate.id] = bump(duplicate, now)
                return stored, False
            request = new_request(draft, max(self._requests, default=0) + 1, now)
            self._requests[request.id] = request
            return request, True

    def get_request(self, request_id: int) -> Request:
        with self._lock:
            return self._request(request_id)

    def _request(self, request_id: int) -> Request:
        try:
            return self._requests[request_id]
        except KeyError:
            raise NotFoundError(f"no request with id {request_id}") from None

    def find_requests(self, query: RequestQuery) -> list[Request]:
        with self._lock:
            found = [r for r in self._requests.values() if query.matches(r)]
        return sorted(found, key=lambda r: -r.id)[: query.limit]

    def cancel_request(self, request_id: int, *, dn: str, is_privileged: bool) -> Request:
        with self._lock:
            cancelled = cancel(self._request(request_id), dn=dn, is_privileged=is_privileged)
            self._requests[request_id] = cancelled
            return cancelled

    def update_request(
        self,
        request_id: int,
        status: RequestStatus,
        *,
        reject_reason: str | None = None,
        actions: tuple[RequestAction, ...] | None = None,
    ) -> Request:
        with self._lock:
            updated = transition(
                self._request(request_id), status, reject_reason=reject_reason, actions=actions
            )
            self._requests[request_id] = updated
            return updated

    def submit_lock(self, draft: LockDraft, now: int) -> tuple[ReplicaLock, bool]:
        with self._lock:
            renewable = find_renewable(self._locks.values(), draft, now)
            if renewable is not None:
                stored = self._locks[renewable.id] = renew(renewable, draft)
                return stored, False
            lock = new_lock(draft, max(self._locks, default=0) + 1, now)
            self._locks[lock.id] = lock
            return lock, True

    def get_lock(self, lock_id: int) -> ReplicaLock:
        with self._lock:
            return self._lock_record(lock_id)

    def _lock_record(self, lock_id: int) -> ReplicaLock:
        try:
            return self._locks[lock_id]
        except KeyError:
            raise NotFoundError(f"no lock with id {lock_id}") from None

    def find_locks(self, query: LockQuery, now: int) -> list[ReplicaLock]:
        with self._lock:
            found = [lock for lock in self._locks.values() if query.matches(lock, now)]
        return sorted(found, key=lambda lock: -lock.id)

    def release_lock(self, lock_id: int, *, dn: str, is_admin: bool, now: int) -> ReplicaLock:
        with self._lock:
            released = release(self._lock_record(lock_id), dn=dn, is_admin=is_admin, now=now)
            self._locks[lock_id] = released
            return released
