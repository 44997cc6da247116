"""Copy and deletion requests: create (deduplicated), list, read, cancel.

Reads are public. Creating needs the user or operator role on the registry; cancelling, the
owner of the request or an operator (admin implied). Items must exist in the inventory and
every site (name or glob) must match a known site: otherwise 400 naming the culprit, and
nothing is written. A request repeating an open one of the same user answers 200 with that
request, its ``request_count`` incremented; a new one answers 201.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from dynamo.api.deps import IntParam, Service
from dynamo.api.registry import Now, Registry, RequestView, identity, request_view
from dynamo.api.security import Principal, Role, Target, require
from dynamo.registry import (
    MAX_ID,
    RegistryStore,
    RequestDraft,
    RequestKind,
    RequestQuery,
    RequestStatus,
    copy_draft,
    deletion_draft,
)
from dynamo.registry.patterns import MAX_PATTERN_LENGTH
from dynamo.registry.validation import MAX_ITEMS

__all__ = ["router"]

router = APIRouter(tags=["requests"])

Requester = Annotated[Principal, Depends(require(Target.REGISTRY, Role.USER, Role.OPERATOR))]
Item = Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH)]
SitePattern = Annotated[str, Field(min_length=1, max_length=MAX_PATTERN_LENGTH)]
RequestId = Annotated[IntParam, Path(ge=1, le=MAX_ID, description="A request id.")]
Ids = Annotated[list[Annotated[IntParam, Field(ge=1, le=MAX_ID)]] | None, Query(alias="id")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CopyIn(_Body):
    """``n`` copies (0: one at every site) of each item, among the sites, owned by ``group``."""

    items: Annotated[list[Item], Field(min_length=1, max_length=MAX_ITEMS)]
    sites: Annotated[list[SitePattern], Field(min_length=1, max_length=MAX_ITEMS)]
    group: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    n: Annotated[int, Field(ge=0, le=1000)] = 1


class DeletionIn(_Body):
    """Delete each item's replicas at each site."""

    items: Annotated[list[Item], Field(min_length=1, max_length=MAX_ITEMS)]
    sites: Annotated[list[SitePattern], Field(min_length=1, max_length=MAX_ITEMS)]


async def _submit(
    registry: RegistryStore, draft: RequestDraft, now: int, response: Response
) -> RequestView:
    request, created = await asyncio.to_thread(registry.submit_request, draft, now)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return request_view(request)


@router.post("/requests/copy", response_model=RequestView, status_code=201)
async def request_copy(
    body: CopyIn,
    caller: Requester,
    service: Service,
    registry: Registry,
    now: Now,
    response: Response,
) -> RequestView:
    """Ask for copies; 201 with the new request, or 200 with the open duplicate, bumped."""
    user, dn = identity(caller)
    draft = copy_draft(
        service.inventory,
        user=user,
        dn=dn,
        items=body.items,
        sites=body.sites,
        group=body.group,
        n=body.n,
    )
    return await _submit(registry, draft, now, response)


@router.post("/requests/deletion", response_model=RequestView, status_code=201)
async def request_deletion(
    body: DeletionIn,
    caller: Requester,
    service: Service,
    registry: Registry,
    now: Now,
    response: Response,
) -> RequestView:
    """Ask for deletions; 201 with the new request, or 200 with the open duplicate, bumped."""
    user, dn = identity(caller)
    draft = deletion_draft(service.inventory, user=user, dn=dn, items=body.items, sites=body.sites)
    return await _submit(registry, draft, now, response)


@router.get("/requests", response_model=list[RequestView])
async def list_requests(
    registry: Registry,
    request_id: Ids = None,
    kind: RequestKind | None = None,
    request_status: Annotated[list[RequestStatus] | None, Query(alias="status")] = None,
    user: str | None = None,
    item: str | None = None,
    site: str | None = None,
    limit: Annotated[IntParam, Query(ge=1, le=10_000)] = 1000,
) -> list[RequestView]:
    """Requests matching every given filter (``item``, ``site``: exact names), newest first."""
    query = RequestQuery(
        ids=tuple(request_id or ()),
        kind=kind,
        statuses=tuple(request_status or ()),
        user=user,
        item=item,
        site=site,
        limit=limit,
    )
    return [request_view(r) for r in await asyncio.to_thread(registry.find_requests, query)]


@router.get("/requests/{request_id:int}", response_model=RequestView)
async def get_request(request_id: RequestId, registry: Registry) -> RequestView:
    """One request with its items, sites and actions."""
    return request_view(await asyncio.to_thread(registry.get_request, request_id))


@router.post("/requests/{request_id:int}/cancel", response_model=RequestView)
async def cancel_request(
    request_id: RequestId, caller: Requester, registry: Registry
) -> RequestView:
    """Cancel a request that is still ``new`` (409 otherwise); its owner or an operator."""
    _, dn = identity(caller)
    cancelled = await asyncio.to_thread(
        registry.cancel_request,
        request_id,
        dn=dn,
        is_privileged=caller.has(Target.REGISTRY, (Role.OPERATOR,)),
    )
    return request_view(cancelled)
