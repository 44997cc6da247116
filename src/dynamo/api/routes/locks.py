"""Replica locks: create or renew, list, release.

Reads are public. Locking needs the user or operator role on the registry; releasing, the
owner of the lock or an admin. The item (dataset, dataset glob or ``dataset#block``) and the
optional site and group globs must match something in the inventory, and the expiry must be a
future time (``7d``, ``12h``, an ISO 8601 date, epoch seconds): otherwise 400, nothing written.
The same lock again (same DN, service, item, sites, groups) renews the active one (200);
otherwise 201 with the new lock.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dynamo.api.deps import IntParam, Service
from dynamo.api.registry import (
    LockView,
    Now,
    Registry,
    identity,
    lock_view,
)
from dynamo.api.security import Principal, Role, Target, require
from dynamo.registry import (
    DEFAULT_SERVICE,
    MAX_ID,
    LockQuery,
    lock_draft,
    parse_expiry,
)
from dynamo.registry.patterns import MAX_PATTERN_LENGTH

__all__ = ["router"]

router = APIRouter(tags=["locks"])

Locker = Annotated[Principal, Depends(require(Target.REGISTRY, Role.USER, Role.OPERATOR))]
Pattern = Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH)]
LockId = Annotated[IntParam, Path(ge=1, le=MAX_ID, description="A lock id.")]
Ids = Annotated[list[Annotated[IntParam, Field(ge=1, le=MAX_ID)]] | None, Query(alias="id")]


class LockIn(BaseModel):
    """A lock on ``item`` at the sites and for the groups matching the globs (None: all)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    item: Pattern
    sites: Pattern | None = None
    groups: Pattern | None = None
    expires: Annotated[str, Field(min_length=1, max_length=64)] | int
    comment: Annotated[str, Field(max_length=4000)] = ""
    service: Annotated[str, Field(min_length=1, max_length=64)] = DEFAULT_SERVICE


@router.post("/locks", response_model=LockView, status_code=201)
async def lock_replicas(
    body: LockIn, caller: Locker, service: Service, registry: Registry, now: Now, response: Response
) -> LockView:
    """Create a lock (201), or renew the caller's identical active lock (200)."""
    user, dn = identity(caller)
    draft = lock_draft(
        service.inventory,
        user=user,
        dn=dn,
        item=body.item,
        sites=body.sites,
        groups=body.groups,
        expires=parse_expiry(str(body.expires), now),
        comment=body.comment,
        service=body.service,
    )
    lock, created = await asyncio.to_thread(registry.submit_lock, draft, now)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return lock_view(lock, now)


@router.get("/locks", response_model=list[LockView])
async def list_locks(
    registry: Registry,
    now: Now,
    lock_id: Ids = None,
    user: str | None = None,
    service: str | None = None,
    item: str | None = None,
    site: str | None = None,
    active: bool | None = None,
) -> list[LockView]:
    """Locks matching every given filter, newest first: ``item`` selects the locks applying
    to that dataset or block, ``site`` those applying at that site, ``active`` true/false the
    active/expired-or-released ones (default: all)."""
    query = LockQuery(
        ids=tuple(lock_id or ()), user=user, service=service, item=item, site=site, active=active
    )
    found = await asyncio.to_thread(registry.find_locks, query, now)
    return [lock_view(lock, now) for lock in found]


@router.get("/locks/{lock_id:int}", response_model=LockView)
async def get_lock(lock_id: LockId, registry: Registry, now: Now) -> LockView:
    """One lock."""
    return lock_view(await asyncio.to_thread(registry.get_lock, lock_id), now)


@router.delete("/locks/{lock_id:int}", response_model=LockView)
async def release_lock(lock_id: LockId, caller: Locker, registry: Registry, now: Now) -> LockView:
    """Release a lock (its owner or an admin); 409 if it was released already."""
    _, dn = identity(caller)
    released = await asyncio.to_thread(
        registry.release_lock,
        lock_id,
        dn=dn,
        is_admin=caller.has(Target.REGISTRY, (Role.ADMIN,)),
        now=now,
    )
    return lock_view(released, now)
