"""The authorisation matrix over every route of the OpenAPI document.

Every write (POST, PUT, PATCH, DELETE) refuses an anonymous caller with 401 and an
authenticated caller without any grant with 403, whatever the body, before anything is
changed; every read answers an anonymous caller (no 401 or 403). The matrix is built from the
application's own OpenAPI document, so a route added later is covered without editing this
test. Certificates themselves (expired, untrusted, proxies) are tested in test_tls_auth.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from web_support import history_app

WRITES = ("post", "put", "patch", "delete")
NOBODY = {"X-Test-DN": "/CN=nobody"}
PUBLIC_WRITES: frozenset[tuple[str, str]] = frozenset()
"""(method, path) of writes that anyone may call: none."""
SELF_SERVICE_READS = {("get", "/api/v1/whoami")}
"""Reads that describe the caller: they answer anonymous callers too (as anonymous)."""


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    app, _ = history_app(tmp_path_factory.mktemp("matrix"))
    return app


@pytest.fixture
async def client(application: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as made:
        yield made


def _routes(application: FastAPI) -> list[tuple[str, str]]:
    schema = application.openapi()
    return sorted(
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in (*WRITES, "get")
    )


def _concrete(path: str) -> str:
    """Path parameters filled with values that parse (ids are integers)."""
    return re.sub(r"\{[^}]*\}", "1", path)


def test_the_matrix_covers_the_whole_api(application: FastAPI) -> None:
    routes = _routes(application)
    writes = [route for route in routes if route[0] in WRITES]
    assert len(writes) >= 15, writes
    assert len(routes) - len(writes) >= 30


async def test_every_write_refuses_anonymous_and_ungranted_callers(
    application: FastAPI, client: httpx.AsyncClient
) -> None:
    wrong = []
    for method, path in _routes(application):
        if method not in WRITES or (method, path) in PUBLIC_WRITES:
            continue
        url = _concrete(path)
        anonymous = await client.request(method.upper(), url, json={})
        ungranted = await client.request(method.upper(), url, json={}, headers=NOBODY)
        if anonymous.status_code != 401 or ungranted.status_code not in (403,):
            wrong.append((method, path, anonymous.status_code, ungranted.status_code))
        elif anonymous.json()["error"]["code"] != "unauthenticated":
            wrong.append((method, path, "code", anonymous.json()["error"]["code"]))
    assert wrong == [], f"writes answering other than 401 / 403: {wrong}"


async def test_every_read_answers_anonymous_callers(
    application: FastAPI, client: httpx.AsyncClient
) -> None:
    wrong = []
    for method, path in _routes(application):
        if method != "get":
            continue
        answer = await client.get(_concrete(path))
        if answer.status_code in (401, 403) and (method, path) not in SELF_SERVICE_READS:
            wrong.append((path, answer.status_code))
        if answer.status_code >= 500:
            wrong.append((path, answer.status_code))
    assert wrong == [], f"reads refused to anonymous callers or failing: {wrong}"
