"""GET /servers: every inventory server sharing the database, its role, log position and lag.

Writes sent to a follower never reach a route: :class:`FollowerRedirect` answers them with a
307 redirect to the leader (a JSON error body says why), or 503 while no leader is known.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from dynamo.api.deps import Service
from dynamo.api.errors import error_response
from dynamo.server.leader import ServerNode

__all__ = ["FollowerRedirect", "router"]

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


async def _node_of(request: Request) -> ServerNode | None:
    node: ServerNode | None = getattr(request.app.state, "node", None)
    return node


@router.get("/servers", response_model=ServersOut)
async def get_servers(
    service: Service,
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


class FollowerRedirect:
    """ASGI middleware: on a follower, send every write to the leader (307) or refuse it (503).

    Plain ASGI rather than ``@app.middleware("http")``, which costs every request (reads
    included) a task and a copy of the response stream."""

    def __init__(self, app: ASGIApp, node: ServerNode) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS or self.node.is_leader:
            await self.app(scope, receive, send)
            return
        leader = self.node.leader_url
        if leader is None:
            response = error_response(
                503,
                "no_leader",
                "this server is a follower and no leader is known right now; retry shortly",
                headers={"Retry-After": "1"},
            )
        else:
            target = leader.rstrip("/") + scope["path"]
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            response = error_response(
                307,
                "not_leader",
                f"this server is a follower: writes go to the leader at {leader}",
                details={"leader": leader, "location": target},
                headers={"Location": target},
            )
        await response(scope, receive, send)
