"""Oversized request bodies are refused with 413 before any route reads them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import base_ops

LIMIT = 10_000
ALICE = {"X-Test-DN": "/CN=alice", "X-Test-Grants": "user:registry"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/limit.sqlite", upgrade=True)
    service = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), service.inventory)
    app = create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=HeaderTestAuthenticator(),
        max_body=LIMIT,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as made:
        yield made


def _copy_request(padding: int) -> bytes:
    items = ", ".join(f'"/X{index}/Y/Z"' for index in range(padding))
    return f'{{"items": [{items}], "sites": ["T2_US_MIT"]}}'.encode()


async def test_a_declared_oversized_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    body = _copy_request(2_000)
    assert len(body) > LIMIT
    answer = await client.post(
        "/api/v1/requests/copy",
        content=body,
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "body_too_large"
    assert error["details"] == {"limit": LIMIT}
    assert f"{len(body):,} bytes declared" in error["message"]
    assert (await client.get("/api/v1/requests")).json() == []


async def test_a_chunked_oversized_body_is_refused_with_413(client: httpx.AsyncClient) -> None:
    body = _copy_request(2_000)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1_000):
            yield body[start : start + 1_000]

    answer = await client.post(
        "/api/v1/requests/copy",
        content=chunks(),
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413
    assert "more than 10,000 bytes sent" in answer.json()["error"]["message"]


async def test_a_chunked_body_under_the_limit_reaches_the_route(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"items": ["/nothing/like/THIS"], "sites": ["T2_US_MIT"]}'

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:10]
        yield body[10:]

    answer = await client.post(
        "/api/v1/requests/copy",
        content=chunks(),
        headers={**ALICE, "Content-Type": "application/json"},
    )
    # the route read the whole body: it names the unknown dataset
    assert answer.status_code == 400, answer.text
    assert "/nothing/like/THIS" in answer.text
