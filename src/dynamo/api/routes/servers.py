"""GET /servers: every inventory server sharing the database, its role, log position and lag.

Writes sent to a follower never reach a route: :func:`follower_redirect` answers them with a
307 redirect to the leader (a JSON error body says why), or 503 while no leader is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from dynamo.api.deps import service_of
from dynamo.api.errors import error_response
from dynamo.server.leader import ServerNode
from dynamo.server.service import InventoryService

__all__ = ["follower_redirect", "router"]

router = APIRouter(tags=["servers"])

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ServerOut(BaseModel):
    name: str
    url: str
    role: str
    log_seq: int
    lag: int
    heartbeat_age_seconds: float
    is_alive: bool
    is_self: bool


class ServersOut(BaseModel):
    leader_url: str | None
    log_head: int
    servers: list[ServerOut]


def _node_of(request: Request) -> ServerNode | None:
    node: ServerNode | None = getattr(request.app.state, "node", None)
    return node


@router.get("/servers", response_model=ServersOut)
async def get_servers(
    service: Annotated[InventoryService, Depends(service_of)],
    node: Annotated[ServerNode | None, Depends(_node_of)],
) -> ServersOut:
    """The servers that reported to the database (a standalone server: only itself).

    ``lag`` counts the log entries a server has not applied yet; ``is_alive`` is false once
    its heartbeat is older than the failover bound.
    """
    if node is None:
        alone = ServerOut(
            name="local",
            url="",
            role="leader",
            log_seq=service.seq,
            lag=0,
            heartbeat_age_seconds=0.0,
            is_alive=True,
            is_self=True,
        )
        return ServersOut(leader_url=None, log_head=service.seq, servers=[alone])
    views = await asyncio.to_thread(node.servers)
    return ServersOut(
        leader_url=node.leader_url,
        log_head=max([node.log_head, service.seq, *(v.log_seq + v.lag for v in views)]),
        servers=[ServerOut.model_validate(view, from_attributes=True) for view in views],
    )


async def follower_redirect(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: on a follower, send every write to the leader (307) or refuse it (503)."""
    node = _node_of(request)
    if request.method in _SAFE_METHODS or node is None or node.is_leader:
        return await call_next(request)
    leader = node.leader_url
    if leader is None:
        return error_response(
            503,
            "no_leader",
            "this server is a follower and no leader is known right now; retry shortly",
            headers={"Retry-After": "1"},
        )
    target = leader.rstrip("/") + request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return error_response(
        307,
        "not_leader",
        f"this server is a follower: writes go to the leader at {leader}",
        details={"leader": leader, "location": target},
        headers={"Location": target},
    )
