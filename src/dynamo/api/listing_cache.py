"""Serialized listings kept for one state of the inventory image.

A listing (e.g. the dataset replicas at a site) is built from the image and serialized once;
later requests with the same parameters get the same bytes for as long as the image is the
same: the same image object at the same log sequence number. Every change of the image goes
through :class:`~dynamo.server.service.InventoryService`, which advances ``seq`` (a commit, a
ChangeSet tailed from the log) or replaces the image (a reload), so a stale body is never
served: the first request after a change finds the state moved and empties the cache.

Reads and writes of the image run on the event loop thread (see the service's concurrency
contract), and so does this cache: no lock is needed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from starlette.requests import Request

from dynamo.server.service import InventoryService

__all__ = ["ListingCache", "listing_cache_of"]


class ListingCache:
    """Up to ``max_entries`` bodies of at most ``max_bytes`` each, least recently used out."""

    def __init__(self, *, max_entries: int = 256, max_bytes: int = 4 << 20) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._state: tuple[int, int] = (0, -1)
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self.hits = self.misses = 0

    def body(self, service: InventoryService, key: Hashable, build: Callable[[], bytes]) -> bytes:
        """The body for ``key`` in the image's current state, built by ``build`` if not kept."""
        state = (id(service.inventory), service.seq)
        if state != self._state:
            self._bodies.clear()
            self._state = state
        found = self._bodies.get(key)
        if found is not None:
            self.hits += 1
            self._bodies.move_to_end(key)
            return found
        self.misses += 1
        body = build()
        if len(body) <= self.max_bytes:
            self._bodies[key] = body
            if len(self._bodies) > self.max_entries:
                self._bodies.popitem(last=False)
        return body


async def listing_cache_of(request: Request) -> ListingCache:
    """The application's listing cache (made on first use)."""
    state = request.app.state
    found: ListingCache | None = getattr(state, "listing_cache", None)
    if found is None:
        found = state.listing_cache = ListingCache()
    return found
