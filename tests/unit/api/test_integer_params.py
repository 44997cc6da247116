"""Integer query and path parameters take digits only, as the OpenAPI document says."""

from __future__ import annotations

import httpx
import pytest

from .conftest import OPERATOR


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/requests?id=60.0",
        "/api/v1/requests?id=1_000",
        "/api/v1/requests?limit=1e3",
        "/api/v1/locks?id=%2060",
        "/api/v1/datasets?limit=10.5",
    ],
)
async def test_a_number_that_is_not_an_integer_is_a_400(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path, headers=OPERATOR)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("path", ["/api/v1/requests?id=60", "/api/v1/datasets?limit=%2B10"])
async def test_integers_as_written_are_taken(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=OPERATOR)
    assert response.status_code == 200, response.text
