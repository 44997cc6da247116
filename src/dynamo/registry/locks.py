"""Replica locks: records and the rules of creating, renewing, listing and releasing them.

A lock protects block replicas from deletion (Detox reads them as ``blockreplica.is_locked``).
Its ``item`` is a dataset name, a dataset glob, or ``dataset#block``; ``sites`` and ``groups``
are optional globs restricting it to replicas at matching sites owned by matching groups (None:
any). A lock is *active* until it expires or is released; inactive locks stay listed (history).

Renewal: a lock made by the same DN for the same service, item, sites and groups as one of its
active locks is not stored again; that lock takes the new expiry and comment (:func:`renew`).
Release: only the owner (same DN) or an admin may release a lock (:func:`release`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from dynamo.registry.errors import ConflictError, NotOwnerError
from dynamo.registry.patterns import compile_glob, has_glob, split_item

__all__ = [
    "DEFAULT_SERVICE",
    "LockDraft",
    "LockQuery",
    "ReplicaLock",
    "active_locks",
    "find_renewable",
    "new_lock",
    "release",
    "renew",
]

DEFAULT_SERVICE = "user"
"""The service of locks made by hand (services such as a workflow system name themselves)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LockDraft:
    """A validated lock before it is stored."""

    item: str
    sites: str | None
    groups: str | None
    expires: int
    comment: str
    user: str
    dn: str
    service: str = DEFAULT_SERVICE

    @property
    def key(self) -> tuple[str, str, str, str | None, str | None]:
        """What makes a new lock the renewal of an active one."""
        return (self.dn, self.service, self.item, self.sites, self.groups)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaLock:
    """A stored lock; times are epoch seconds, ``released`` None while not released."""

    id: int
    item: str
    sites: str | None
    groups: str | None
    expires: int
    comment: str
    user: str
    dn: str
    service: str
    created: int
    released: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str | None, str | None]:
        return (self.dn, self.service, self.item, self.sites, self.groups)

    def is_active(self, now: int) -> bool:
        """Not released and not expired at ``now``."""
        return self.released is None and now < self.expires

    def applies_to(self, dataset: str, block: str | None = None) -> bool:
        """Whether the lock's item takes in ``block`` of ``dataset``, or (``block`` None) some
        part of ``dataset``."""
        lock_dataset, lock_block = split_item(self.item, allow_glob=True)
        if lock_block is not None and block is not None and lock_block != block:
            return False
        if has_glob(lock_dataset):
            return compile_glob(lock_dataset).match(dataset) is not None
        return lock_dataset == dataset

    def covers_site(self, site: str) -> bool:
        return self.sites is None or compile_glob(self.sites).match(site) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class LockQuery:
    """Filters of a lock listing; every given filter must hold.

    ``item`` (``dataset`` or ``dataset#block``) selects the locks applying to it (to a dataset:
    also the locks on one of its blocks), ``site`` the locks
    that apply at that site; ``active`` True/False selects active/inactive locks at the query's
    ``now``, None both.
    """

    ids: tuple[int, ...] = ()
    user: str | None = None
    service: str | None = None
    item: str | None = None
    site: str | None = None
    active: bool | None = None

    def matches(self, lock: ReplicaLock, now: int) -> bool:
        if self.ids and lock.id not in self.ids:
            return False
        if (self.user is not None and lock.user != self.user) or (
            self.service is not None and lock.service != self.service
        ):
            return False
        if self.active is not None and lock.is_active(now) is not self.active:
            return False
        if self.site is not None and not lock.covers_site(self.site):
            return False
        if self.item is not None:
            dataset, _, block = self.item.partition("#")
            return lock.applies_to(dataset, block or None)
        return True


def new_lock(draft: LockDraft, lock_id: int, now: int) -> ReplicaLock:
    """The record of a lock made at ``now``."""
    return ReplicaLock(
        id=lock_id,
        item=draft.item,
        sites=draft.sites,
        groups=draft.groups,
        expires=draft.expires,
        comment=draft.comment,
        user=draft.user,
        dn=draft.dn,
        service=draft.service,
        created=now,
    )


def active_locks(locks: Iterable[ReplicaLock], now: int) -> list[ReplicaLock]:
    """The locks of ``locks`` that are active at ``now``, in the given order."""
    return [lock for lock in locks if lock.is_active(now)]


def find_renewable(
    candidates: Iterable[ReplicaLock], draft: LockDraft, now: int
) -> ReplicaLock | None:
    """The active lock among ``candidates`` that ``draft`` renews (the oldest), if any."""
    found = [lock for lock in candidates if lock.is_active(now) and lock.key == draft.key]
    return min(found, key=lambda lock: lock.id) if found else None


def renew(lock: ReplicaLock, draft: LockDraft) -> ReplicaLock:
    """``lock`` with the expiry of ``draft`` (and its comment, when one is given)."""
    return dataclasses.replace(lock, expires=draft.expires, comment=draft.comment or lock.comment)


def release(lock: ReplicaLock, *, dn: str, is_admin: bool, now: int) -> ReplicaLock:
    """``lock`` released at ``now`` by ``dn``.

    NotOwnerError unless ``dn`` made it or ``is_admin``; ConflictError if it was released
    already. Releasing an expired lock is allowed (it records who cleaned up, and when).
    """
    if lock.dn != dn and not is_admin:
        raise NotOwnerError(
            f"lock {lock.id} belongs to {lock.dn}; only its owner or an admin may release it"
        )
    if lock.released is not None:
        raise ConflictError(f"lock {lock.id} was released already")
    return dataclasses.replace(lock, released=now)
