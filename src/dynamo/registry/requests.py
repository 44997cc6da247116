"""Copy and deletion requests: records, statuses and the rules of their life cycle.

A request asks for copies (``copy``: ``n`` copies of each item among the sites, owned by
``group``) or for the removal of replicas (``deletion``: each item at each site). Items are
dataset names or ``dataset#block``; sites are concrete site names (globs are expanded when the
request is made, see :mod:`dynamo.registry.validation`).

Statuses, as in the original::

    request: new --> activated --> completed        action: new --> queued --> completed
              |  \\--> completed / rejected                   \\--> failed
              +--> cancelled (only while new)

Deduplication: a request with the same kind, user, items, sites and group as one of the user's
requests that is still ``new`` or ``activated`` is not stored again; that request's
``request_count`` is incremented and ``last_request`` set instead (:func:`find_duplicate`,
:func:`bump`). The ``n`` of the first request is kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from dynamo.registry.errors import ConflictError, NotOwnerError

__all__ = [
    "OPEN_STATUSES",
    "ActionStatus",
    "Request",
    "RequestAction",
    "RequestDraft",
    "RequestKind",
    "RequestQuery",
    "RequestStatus",
    "bump",
    "cancel",
    "find_duplicate",
    "new_request",
    "transition",
]


class RequestKind(StrEnum):
    COPY = "copy"
    DELETION = "deletion"


class RequestStatus(StrEnum):
    NEW = "new"
    ACTIVATED = "activated"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ActionStatus(StrEnum):
    NEW = "new"
    QUEUED = "queued"
    FAILED = "failed"
    COMPLETED = "completed"


OPEN_STATUSES: Final = frozenset({RequestStatus.NEW, RequestStatus.ACTIVATED})
"""Statuses of a request that is still being worked on (and so absorbs duplicates)."""

_NEXT: Final[dict[RequestStatus, frozenset[RequestStatus]]] = {
    RequestStatus.NEW: frozenset(
        {
            RequestStatus.ACTIVATED,
            RequestStatus.COMPLETED,
            RequestStatus.REJECTED,
            RequestStatus.CANCELLED,
        }
    ),
    RequestStatus.ACTIVATED: frozenset({RequestStatus.COMPLETED, RequestStatus.REJECTED}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestAction:
    """What was decided for one item at one site (written by the Dealer or the tracker)."""

    item: str
    site: str
    status: ActionStatus = ActionStatus.NEW
    last_update: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDraft:
    """A validated request before it is stored: items and sites sorted and unique."""

    kind: RequestKind
    user: str
    dn: str
    items: tuple[str, ...]
    sites: tuple[str, ...]
    group: str | None = None
    n: int = 1

    @property
    def key(self) -> tuple[RequestKind, str, tuple[str, ...], tuple[str, ...], str | None]:
        """What makes two requests duplicates of each other."""
        return (self.kind, self.user, self.items, self.sites, self.group)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A stored copy or deletion request. Times are epoch seconds."""

    id: int
    kind: RequestKind
    user: str
    dn: str
    status: RequestStatus
    items: tuple[str, ...]
    sites: tuple[str, ...]
    group: str | None = None
    n: int = 1
    first_request: int
    last_request: int
    request_count: int = 1
    reject_reason: str | None = None
    actions: tuple[RequestAction, ...] = ()

    @property
    def key(self) -> tuple[RequestKind, str, tuple[str, ...], tuple[str, ...], str | None]:
        return (self.kind, self.user, self.items, self.sites, self.group)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestQuery:
    """Filters of a request listing; every given filter must hold. ``item`` and ``site`` are
    exact names that the request must contain. Results are newest first, at most ``limit``."""

    ids: tuple[int, ...] = ()
    kind: RequestKind | None = None
    statuses: tuple[RequestStatus, ...] = ()
    user: str | None = None
    item: str | None = None
    site: str | None = None
    limit: int = 1000

    def matches(self, request: Request) -> bool:
        return (
            (not self.ids or request.id in self.ids)
            and (self.kind is None or request.kind is self.kind)
            and (not self.statuses or request.status in self.statuses)
            and (self.user is None or request.user == self.user)
            and (self.item is None or self.item in request.items)
            and (self.site is None or self.site in request.sites)
        )


def new_request(draft: RequestDraft, request_id: int, now: int) -> Request:
    """The record of a request first made at ``now``."""
    return Request(
        id=request_id,
        kind=draft.kind,
        user=draft.user,
        dn=draft.dn,
        status=RequestStatus.NEW,
        items=draft.items,
        sites=draft.sites,
        group=draft.group,
        n=draft.n,
        first_request=now,
        last_request=now,
    )


def find_duplicate(candidates: Iterable[Request], draft: RequestDraft) -> Request | None:
    """The open request among ``candidates`` that ``draft`` repeats (the oldest), if any."""
    found = [r for r in candidates if r.is_open and r.key == draft.key]
    return min(found, key=lambda r: r.id) if found else None


def bump(request: Request, now: int) -> Request:
    """``request`` asked for once more at ``now``."""
    return dataclasses.replace(
        request,
        request_count=request.request_count + 1,
        last_request=max(now, request.last_request),
    )


def cancel(request: Request, *, dn: str, is_privileged: bool) -> Request:
    """``request`` cancelled by ``dn``.

    NotOwnerError unless ``dn`` made it or ``is_privileged`` (an operator or admin);
    ConflictError unless it is still ``new``.
    """
    if request.dn != dn and not is_privileged:
        raise NotOwnerError(
            f"request {request.id} belongs to {request.dn}; only its owner or an operator "
            "may cancel it"
        )
    if request.status is not RequestStatus.NEW:
        raise ConflictError(
            f"request {request.id} is {request.status}: only a new request can be cancelled"
        )
    return dataclasses.replace(request, status=RequestStatus.CANCELLED)


def transition(
    request: Request,
    status: RequestStatus,
    *,
    reject_reason: str | None = None,
    actions: tuple[RequestAction, ...] | None = None,
) -> Request:
    """``request`` moved to ``status`` (same status: only the actions change).

    Allowed: new -> activated, completed, rejected, cancelled; activated -> completed, rejected.
    Anything else raises ConflictError. A rejection needs a reason.
    """
    if status is not request.status and status not in _NEXT.get(request.status, frozenset()):
        raise ConflictError(f"request {request.id} cannot go from {request.status} to {status}")
    if status is RequestStatus.REJECTED and not (reject_reason or request.reject_reason):
        raise ConflictError(f"rejecting request {request.id} needs a reason")
    return dataclasses.replace(
        request,
        status=status,
        reject_reason=reject_reason if reject_reason is not None else request.reject_reason,
        actions=actions if actions is not None else request.actions,
    )
