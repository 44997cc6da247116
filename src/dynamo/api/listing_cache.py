"""Serialized listings kept for one state of the inventory image, and the fast path serving them.

A listing (e.g. the dataset replicas at a site) is built from the image and serialized once;
later requests with the same parameters get the same bytes for as long as the image is the
same: the same image object at the same log sequence number. Every change of the image goes
through :class:`~dynamo.server.service.InventoryService`, which advances ``seq`` (a commit, a
ChangeSet tailed from the log) or replaces the image (a reload), so a stale body is never
served: the first request after a change finds the state moved and empties the cache.

:class:`ListingFastPath` answers a repeated listing request below FastAPI's routing. The route
that built a body also files it under the request as sent (path and raw query string); the
fast path looks up exactly that and, if the image has not changed, sends the body with
:func:`listing_response`, the route's own response. It parses and validates nothing: a
request the route has not answered in this state of the image (a miss, another spelling of
the query, an invalid one, another method) goes on to the application, which answers it and
fills the cache. The same bytes for the same request as sent, whichever way it goes.

Reads and writes of the image run on the event loop thread (see the service's concurrency
contract), and so does this cache: no lock is needed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Final

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dynamo.server.service import InventoryService

__all__ = [
    "ROUTE_KEY",
    "ListingCache",
    "ListingFastPath",
    "cached_listing",
    "listing_cache_of",
    "listing_response",
]

ROUTE_KEY: Final = "dynamo.route"
"""Scope key of the route template for a request answered below the routing (the access log
and the metrics read it; the listing routes have no path parameters: the template is the
path)."""

_Sent = tuple[str, bytes]
"""A request as sent: its path and raw query string."""


class ListingCache:
    """Up to ``max_entries`` bodies of at most ``max_bytes`` each, least recently used out;
    as many requests as sent (path and query string) pointing at their keys, for the fast
    path (a body is kept once, whatever the requests naming it)."""

    def __init__(self, *, max_entries: int = 256, max_bytes: int = 4 << 20) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._state: tuple[int, int] = (0, -1)
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._sent: OrderedDict[_Sent, Hashable] = OrderedDict()
        self.hits = self.misses = self.fast_hits = 0

    def body(
        self,
        service: InventoryService,
        key: Hashable,
        build: Callable[[], bytes],
        *,
        sent: _Sent | None = None,
    ) -> bytes:
        """The body for ``key`` in the image's current state, built by ``build`` if not kept;
        filed under ``sent`` (the request as sent) too when it is kept."""
        state = (id(service.inventory), service.seq)
        if state != self._state:
            self._bodies.clear()
            self._sent.clear()
            self._state = state
        found = self._bodies.get(key)
        if found is not None:
            self.hits += 1
            self._bodies.move_to_end(key)
        else:
            self.misses += 1
            found = build()
            if len(found) > self.max_bytes:
                return found
            self._bodies[key] = found
            if len(self._bodies) > self.max_entries:
                self._bodies.popitem(last=False)
        if sent is not None:
            self._sent[sent] = key
            self._sent.move_to_end(sent)
            if len(self._sent) > self.max_entries:
                self._sent.popitem(last=False)
        return found

    def sent_before(self, service: InventoryService, sent: _Sent) -> bytes | None:
        """The body answered to the request ``sent`` in the image's current state, if kept."""
        if (id(service.inventory), service.seq) != self._state:
            return None
        key = self._sent.get(sent)
        found = None if key is None else self._bodies.get(key)
        if found is not None:
            self.fast_hits += 1
            self._bodies.move_to_end(key)  # a use like any other: least recently used out
        return found


def listing_cache_of(state: State) -> ListingCache:
    """The listing cache kept on an application's ``state`` (made on first use)."""
    found: ListingCache | None = getattr(state, "listing_cache", None)
    if found is None:
        found = state.listing_cache = ListingCache()
    return found


def listing_response(body: bytes) -> Response:
    """The response of a listing: the route's and the fast path's."""
    return Response(body, media_type="application/json")


def _sent(scope: Scope) -> _Sent:
    return scope["path"], scope["query_string"]


def cached_listing(
    request: Request, service: InventoryService, key: Hashable, build: Callable[[], bytes]
) -> Response:
    """A listing route's answer: the kept body for ``key`` (built by ``build`` if need be),
    filed under the request as sent for :class:`ListingFastPath`."""
    cache = listing_cache_of(request.app.state)
    return listing_response(cache.body(service, key, build, sent=_sent(request.scope)))


class ListingFastPath:
    """ASGI middleware: a GET of one of ``paths`` that a listing route has answered in the
    image's current state, sent again as it was (path and query string), is answered with the
    kept body without FastAPI's routing, dependencies and validation; anything else goes on.

    Install it inside :class:`~dynamo.api.operations.RequestLog` (request id, access log,
    metrics) and the other middlewares. The listing routes are public reads that ask nothing
    of the caller (no authentication, as the authorisation matrix says of reads); a route that
    would must not be listed in ``paths``."""

    def __init__(self, app: ASGIApp, paths: Iterable[str]) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] in self.paths:
            state = scope["app"].state
            cache: ListingCache | None = getattr(state, "listing_cache", None)
            body = None if cache is None else cache.sent_before(state.service, _sent(scope))
            if body is not None:
                scope[ROUTE_KEY] = scope["path"]
                await listing_response(body)(scope, receive, send)
                return
        await self.app(scope, receive, send)
