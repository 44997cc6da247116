"""The listing fast path answers exactly as the listing routes do.

The first request of a listing is answered by the route (it fills the cache); the same request
sent again is answered by :class:`~dynamo.api.listing_cache.ListingFastPath` below the routing.
Each test sends both with the same request id and compares status, headers and body, and reads
the cache's counters to know which way each went.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.api.deps import Service
from dynamo.api.listing_cache import ListingCache
from dynamo.api.operations import ApiMetrics
from dynamo.api.routes.replicas import CACHED_LISTINGS, router
from dynamo.api.security import Principal, UnauthenticatedError
from dynamo.model import ChangeSet, UpsertBlockReplica
from dynamo.server.leader import ServerNode
from dynamo.server.service import InventoryService

from ..model.conftest import BLOCK, DATASET

SITE_LISTING = "/api/v1/replicas?site=T2_US_MIT"
DATASET_LISTING = f"/api/v1/blockreplicas?dataset={DATASET.replace('/', '%2F')}"
SAME_ID = {"X-Request-ID": "same-id"}


@dataclass
class _Follower:
    """Test double of a ServerNode that follows ``leader_url``: all FollowerRedirect reads."""

    leader_url: str | None = "http://leader.example:8443"
    is_leader: bool = False


def _app(service: InventoryService, **options: Any) -> FastAPI:
    options.setdefault("authenticator", HeaderTestAuthenticator())
    return create_app(service, **options)


@pytest.fixture
def app(service: InventoryService) -> FastAPI:
    return _app(service)


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as made:
        yield made


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for made in _client(app):
        yield made


def _cache(app: FastAPI) -> ListingCache:
    found: ListingCache = app.state.listing_cache
    return found


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, sorted(response.headers.multi_items()), response.content


async def _twice(
    client: httpx.AsyncClient, app: FastAPI, url: str, headers: dict[str, str] | None = None
) -> tuple[httpx.Response, httpx.Response, int]:
    """``url`` sent twice with the same request id; how many of the two the fast path took."""
    sent = SAME_ID | (headers or {})
    first = await client.get(url, headers=sent)
    before = _cache(app).fast_hits if hasattr(app.state, "listing_cache") else 0
    second = await client.get(url, headers=sent)
    after = _cache(app).fast_hits if hasattr(app.state, "listing_cache") else 0
    return first, second, after - before


@pytest.mark.parametrize("url", [SITE_LISTING, DATASET_LISTING])
async def test_a_repeated_listing_is_answered_by_the_fast_path_as_by_the_route(
    client: httpx.AsyncClient, app: FastAPI, url: str
) -> None:
    first, second, fast = await _twice(client, app, url)
    assert (first.status_code, fast) == (200, 1)
    assert _answer(second) == _answer(first)
    assert first.headers["content-type"] == "application/json"
    assert first.json()["total"] >= 1


@pytest.mark.parametrize(
    ("query", "fast"),
    [
        ("/api/v1/replicas", 1),
        ("/api/v1/replicas?site=T2_*&limit=1&offset=0", 1),
        ("/api/v1/replicas?site=T2_US_MIT&site=T1_US_FNAL_MSS", 1),  # the last one counts
        ("/api/v1/replicas?site=&group=null", 1),
        ("/api/v1/replicas?unknown=1", 1),
        ("/api/v1/blockreplicas?complete=1&limit=%2B2", 1),
        ("/api/v1/blockreplicas?complete=maybe", 0),  # 422, never kept
        ("/api/v1/blockreplicas?limit=0", 0),
        ("/api/v1/replicas?limit=1.0", 0),
        ("/api/v1/blockreplicas?site=T2_US_MIT&format=ndjson", 0),  # streamed, never kept
        ("/api/v1/replicas/", 0),  # not the route's path
        ("/api/v1/replicas?format=xml", 0),
    ],
)
async def test_every_spelling_of_a_listing_query_gets_the_routes_answer(
    client: httpx.AsyncClient, app: FastAPI, query: str, fast: int
) -> None:
    first, second, took = await _twice(client, app, query)
    assert took == fast
    assert _answer(second) == _answer(first)


async def test_the_fast_path_takes_gets_only(client: httpx.AsyncClient, app: FastAPI) -> None:
    await client.get(SITE_LISTING)
    hits = _cache(app).fast_hits
    head = await client.head(SITE_LISTING)
    post = await client.post(SITE_LISTING, json={})
    assert (head.status_code, post.status_code) == (405, 405)
    assert _cache(app).fast_hits == hits


@pytest.mark.parametrize(
    "caller",
    [
        {},
        {"X-Test-DN": "/CN=nobody"},
        {"X-Test-DN": "/DC=ch/DC=cern/CN=Operator", "X-Test-Grants": "operator:inventory"},
    ],
)
async def test_callers_with_and_without_identity_or_grants_get_the_same_answer(
    client: httpx.AsyncClient, app: FastAPI, caller: dict[str, str]
) -> None:
    """Listings are public reads (the authorisation matrix): no 401 or 403, same bytes."""
    anonymous = await client.get(SITE_LISTING, headers=SAME_ID)
    first, second, fast = await _twice(client, app, SITE_LISTING, caller)
    assert fast == 1
    assert _answer(first) == _answer(second) == _answer(anonymous)


class _RefuseEveryone:
    """An authenticator refusing every caller (as a revoked certificate would be refused)."""

    async def principal(self, request: Request) -> Principal:
        raise UnauthenticatedError("refused")


async def test_the_listing_routes_ask_nothing_of_the_caller_so_neither_does_the_fast_path(
    service: InventoryService,
) -> None:
    """The fast path runs no authentication because the routes run none: if a listing route
    ever depends on its caller, this fails (the fast path would then have to ask too)."""
    app = _app(service, authenticator=_RefuseEveryone())
    allowed = {typing.get_args(Service)[1].dependency}
    routes = [r for r in router.routes if isinstance(r, APIRoute) and r.path in CACHED_LISTINGS]
    assert len(routes) == len(CACHED_LISTINGS)
    for route in routes:
        assert {d.call for d in route.dependant.dependencies} <= allowed, route.path
    async for client in _client(app):
        first, second, fast = await _twice(client, app, SITE_LISTING)
        assert (first.status_code, fast) == (200, 1)
        assert _answer(second) == _answer(first)
        assert (await client.get("/api/v1/whoami")).status_code == 401


async def test_a_follower_answers_listings_either_way_and_redirects_writes(
    service: InventoryService,
) -> None:
    app = _app(service, node=cast(ServerNode, _Follower()))
    async for client in _client(app):
        first, second, fast = await _twice(client, app, SITE_LISTING)
        assert (first.status_code, fast) == (200, 1)
        assert _answer(second) == _answer(first)
        write = await client.post(SITE_LISTING, json={})
        assert write.status_code == 307
        assert write.headers["location"] == "http://leader.example:8443" + SITE_LISTING
        assert write.json()["error"]["code"] == "not_leader"
        assert _cache(app).fast_hits == 1


async def test_a_commit_retires_the_kept_answers(
    client: httpx.AsyncClient, app: FastAPI, service: InventoryService
) -> None:
    before, _, fast = await _twice(client, app, DATASET_LISTING)
    assert fast == 1
    changed = UpsertBlockReplica(
        dataset=DATASET, block=BLOCK, site="T2_US_MIT", group="DataOps", size=7, num_files=1
    )
    await service.commit(ChangeSet.of([changed]))
    after, after_again, fast = await _twice(client, app, DATASET_LISTING)
    assert fast == 1  # the first after the commit went to the route, the second did not
    assert after.content != before.content
    assert _answer(after_again) == _answer(after)
    rows = {row["block"]: row for row in after.json()["items"]}
    assert (rows[BLOCK]["group"], rows[BLOCK]["size"]) == ("DataOps", 7)


async def test_the_access_log_and_the_metrics_see_both_ways_alike(
    client: httpx.AsyncClient, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dynamo.api.access"):
        _, _, fast = await _twice(client, app, SITE_LISTING)
    assert fast == 1
    records = [r for r in caplog.records if r.name == "dynamo.api.access"]
    fields = ("request_id", "method", "route", "status", "dn")
    logged = [tuple(getattr(r, name) for name in fields) for r in records]
    assert logged == [("same-id", "GET", "/api/v1/replicas", 200, None)] * 2
    metrics: ApiMetrics = app.state.api_metrics
    assert metrics.requests[("GET", "/api/v1/replicas", 200)] == 2
    exposed = (await client.get("/metrics")).text
    assert 'dynamo_api_requests_total{method="GET",route="/api/v1/replicas",status="200"} 2' in (
        exposed
    )
