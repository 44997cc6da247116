"""The listing cache: one state of the image (its identity and log seq) per set of bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from dynamo.api.listing_cache import ListingCache
from dynamo.server.service import InventoryService


@dataclass
class _ServiceDouble:
    """Test double of the service: an image object and a log seq, all the cache reads."""

    inventory: object = field(default_factory=object)
    seq: int = 1


def _service(image: _ServiceDouble) -> InventoryService:
    return cast(InventoryService, image)


def test_a_body_is_built_once_per_state_of_the_image() -> None:
    cache, image, built = ListingCache(), _ServiceDouble(), []

    def build() -> bytes:
        built.append(1)
        return b"[%d]" % len(built)

    assert cache.body(_service(image), "k", build) == b"[1]"
    assert cache.body(_service(image), "k", build) == b"[1]"
    image.seq = 2
    assert cache.body(_service(image), "k", build) == b"[2]"
    image.inventory = object()
    assert cache.body(_service(image), "k", build) == b"[3]"
    assert (cache.hits, cache.misses) == (1, 3)


def test_the_least_recently_used_body_goes_and_large_bodies_are_not_kept() -> None:
    cache, image = ListingCache(max_entries=2, max_bytes=4), _ServiceDouble()
    calls: dict[Any, int] = {}

    def build(key: str, body: bytes) -> bytes:
        calls[key] = calls.get(key, 0) + 1
        return body

    for key in ("a", "b", "a", "c", "a", "b"):
        cache.body(_service(image), key, lambda key=key: build(key, b"x"))
    assert calls == {"a": 1, "b": 2, "c": 1}
    for _ in range(2):
        cache.body(_service(image), "big", lambda: build("big", b"12345"))
    assert calls["big"] == 2


def test_a_request_as_sent_finds_its_body_only_in_the_state_it_was_built_in() -> None:
    cache, image = ListingCache(max_entries=2), _ServiceDouble()
    sent = ("/api/v1/replicas", b"site=T2_*")
    assert cache.sent_before(_service(image), sent) is None
    cache.body(_service(image), "k", lambda: b"[1]", sent=sent)
    cache.body(_service(image), "k", lambda: b"[never built]", sent=("/api/v1/replicas", b""))
    assert cache.sent_before(_service(image), sent) == b"[1]"
    assert cache.sent_before(_service(image), ("/api/v1/replicas", b"")) == b"[1]"
    assert cache.sent_before(_service(image), ("/api/v1/replicas", b"site=T1_*")) is None
    image.seq = 2
    assert cache.sent_before(_service(image), sent) is None
    cache.body(_service(image), "other", lambda: b"[2]", sent=("/x", b""))
    assert cache.sent_before(_service(image), sent) is None  # emptied with the bodies
    assert cache.fast_hits == 2
    for n in range(3):  # as many requests as bodies are kept, least recently used out
        cache.body(_service(image), "other", lambda: b"[2]", sent=("/x", b"%d" % n))
    assert cache.sent_before(_service(image), ("/x", b"0")) is None
    assert cache.sent_before(_service(image), ("/x", b"2")) == b"[2]"
