"""What the request and lock routes share: the registry store and clock of the application,
the caller's identity as recorded, and the JSON views of requests and locks.

The registry is ``app.state.registry`` (set by :func:`dynamo.api.app.create_app`). The time
is read from ``app.state.clock`` when a test or a simulation sets one, else the system clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel
from starlette.requests import Request as HttpRequest

from dynamo.api.security import Principal
from dynamo.registry import RegistryStore, ReplicaLock, Request, RequestKind, RequestStatus

__all__ = [
    "ActionView",
    "LockView",
    "Now",
    "Registry",
    "RequestView",
    "identity",
    "lock_view",
    "now_of",
    "registry_of",
    "request_view",
]


async def registry_of(request: HttpRequest) -> RegistryStore:
    """The registry store of the application handling ``request``."""
    found: RegistryStore = request.app.state.registry
    return found


async def now_of(request: HttpRequest) -> int:
    """The current time in epoch seconds, from the application's clock."""
    clock: Callable[[], float] = getattr(request.app.state, "clock", time.time)
    return int(clock())


def identity(principal: Principal) -> tuple[str, str]:
    """``(user, dn)`` recorded for an authenticated caller (the user defaults to the DN)."""
    if principal.dn is None:  # pragma: no cover - the routes require an identity first
        raise ValueError("an anonymous caller has no identity")
    return principal.user or principal.dn, principal.dn


class ActionView(BaseModel):
    item: str
    site: str
    status: str
    last_update: int


class RequestView(BaseModel):
    """A copy or deletion request; times are epoch seconds."""

    id: int
    kind: RequestKind
    status: RequestStatus
    user: str
    dn: str
    items: list[str]
    sites: list[str]
    group: str | None
    n: int
    first_request: int
    last_request: int
    request_count: int
    reject_reason: str | None
    actions: list[ActionView]


class LockView(BaseModel):
    """A replica lock; ``active`` at the time of the answer; times are epoch seconds."""

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
    released: int | None
    active: bool


def request_view(request: Request) -> RequestView:
    return RequestView(
        id=request.id,
        kind=request.kind,
        status=request.status,
        user=request.user,
        dn=request.dn,
        items=list(request.items),
        sites=list(request.sites),
        group=request.group,
        n=request.n,
        first_request=request.first_request,
        last_request=request.last_request,
        request_count=request.request_count,
        reject_reason=request.reject_reason,
        actions=[
            ActionView(item=a.item, site=a.site, status=a.status, last_update=a.last_update)
            for a in request.actions
        ],
    )


def lock_view(lock: ReplicaLock, now: int) -> LockView:
    return LockView(
        id=lock.id,
        item=lock.item,
        sites=lock.sites,
        groups=lock.groups,
        expires=lock.expires,
        comment=lock.comment,
        user=lock.user,
        dn=lock.dn,
        service=lock.service,
        created=lock.created,
        released=lock.released,
        active=lock.is_active(now),
    )


Registry = Annotated[RegistryStore, Depends(registry_of)]
"""A route parameter receiving the registry store."""
Now = Annotated[int, Depends(now_of)]
"""A route parameter receiving the current time (epoch seconds, from app.state.clock)."""
