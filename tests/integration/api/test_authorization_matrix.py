"""The authorisation matrix over every route of the OpenAPI document.

Every write (POST, PUT, PATCH, DELETE) refuses an anonymous caller with 401 and an
authenticated caller without any grant with 403, whatever the body, before anything is
changed; every read answers an anonymous caller (no 401 or 403). For every write, a caller
holding ``user``, ``operator`` or ``admin`` on the route's target, or ``admin`` on another
target, is let through exactly when :data:`REQUIRED` says so (403 otherwise); and every
user-data write naming another user's namespace is 403 for a user and allowed for an admin.
The matrix is built from the application's own OpenAPI document: a write added later fails
the test until its requirement is declared in :data:`REQUIRED`. Certificates themselves
(expired, untrusted, proxies, revoked) are tested in test_tls_auth.py and test_revocation.py.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from dynamo.api.security import Role, Target
from web_support import history_app

WRITES = ("post", "put", "patch", "delete")
NOBODY = {"X-Test-DN": "/CN=nobody"}
PUBLIC_WRITES: frozenset[tuple[str, str]] = frozenset()
"""(method, path) of writes that anyone may call: none."""
SELF_SERVICE_READS = {("get", "/api/v1/whoami")}
"""Reads that describe the caller: they answer anonymous callers too (as anonymous)."""

USER, OPERATOR, ADMIN = Role.USER, Role.OPERATOR, Role.ADMIN
REQUIRED: dict[tuple[str, str], tuple[Target, frozenset[Role]]] = {
    **{
        (method, f"/api/v1/{path}"): (target, frozenset(roles))
        for method, path, target, roles in [
            ("delete", "applications/runs/{run_id}", Target.APPLICATION, {OPERATOR}),
            ("post", "applications/{name}/authorizations", Target.APPLICATION, set()),
            ("delete", "applications/{name}/authorizations", Target.APPLICATION, set()),
            ("post", "applications/{name}/runs", Target.APPLICATION, {OPERATOR}),
            ("post", "deletions/cancel", Target.INVENTORY, {OPERATOR}),
            ("post", "deletions/release", Target.INVENTORY, {OPERATOR}),
            ("post", "transfers/cancel", Target.INVENTORY, {OPERATOR}),
            ("post", "transfers/release", Target.INVENTORY, {OPERATOR}),
            ("post", "inject", Target.INVENTORY, {OPERATOR}),
            ("post", "invalidate", Target.INVENTORY, {OPERATOR}),
            ("post", "locks", Target.REGISTRY, {USER, OPERATOR}),
            ("delete", "locks/{lock_id}", Target.REGISTRY, {USER, OPERATOR}),
            ("post", "requests/copy", Target.REGISTRY, {USER, OPERATOR}),
            ("post", "requests/deletion", Target.REGISTRY, {USER, OPERATOR}),
            ("post", "requests/{request_id}/cancel", Target.REGISTRY, {USER, OPERATOR}),
            ("post", "popularity/accesses", Target.POPULARITY, {OPERATOR}),
            ("put", "userdata/quotas/{site}", Target.USERDATA, set()),
            *[
                ("post", f"userdata/{name}", Target.USERDATA, {USER})
                for name in ("complete", "deletions", "files", "imports", "locations")
            ],
            ("post", "userdata/subscriptions", Target.USERDATA, {USER}),
        ]
    }
}
"""What each write needs: a role among these (or admin) on the target; an empty set: admin only."""

ALICE = "/DC=ch/DC=cern/CN=alice"
BOB_DATASET = "/Primary/bob-label/USER"
BOB_LFN = "/store/user/bob/label/file.root"
NAMESPACE_WRITES = {
    "locations": {"dataset": BOB_DATASET, "lfn": BOB_LFN, "site": "T2_US_MIT"},
    "files": {
        "dataset": BOB_DATASET,
        "lfn": BOB_LFN,
        "site": "T2_US_MIT",
        "size": 1,
        "adler32": "00000001",
    },
    "complete": {"dataset": BOB_DATASET},
    "subscriptions": {"dataset": BOB_DATASET, "site": "T2_US_MIT"},
    "deletions": {"dataset": BOB_DATASET},
    "imports": {
        "dataset": BOB_DATASET,
        "site": "T2_US_MIT",
        "files": [{"lfn": BOB_LFN, "source_url": "file:///tmp/x.root"}],
    },
}
"""User-data writes, each naming bob's namespace (a dataset of bob, a file under his LFNs)."""


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


def _as(role: Role, target: Target) -> dict[str, str]:
    return {"X-Test-DN": ALICE, "X-Test-Grants": f"{role}:{target}"}


def test_every_write_declares_its_requirement(application: FastAPI) -> None:
    writes = {route for route in _routes(application) if route[0] in WRITES}
    assert writes == set(REQUIRED), (
        f"undeclared: {sorted(writes - set(REQUIRED))}; gone: {sorted(set(REQUIRED) - writes)}"
    )


async def test_every_role_is_let_through_exactly_where_it_is_granted(
    client: httpx.AsyncClient,
) -> None:
    wrong = []
    for (method, path), (target, roles) in sorted(REQUIRED.items()):
        other = Target.HISTORY if target != Target.HISTORY else Target.INVENTORY
        callers = [(role, target, role in roles or role == ADMIN) for role in Role]
        callers.append((ADMIN, other, False))
        for role, on, allowed in callers:
            answer = await client.request(
                method.upper(), _concrete(path), json={}, headers=_as(role, on)
            )
            refused = answer.status_code in (401, 403)
            if refused == allowed or answer.status_code >= 500:
                wrong.append((method, path, f"{role}:{on}", answer.status_code))
            elif refused and answer.json()["error"]["code"] != "forbidden":
                wrong.append((method, path, f"{role}:{on}", answer.json()["error"]["code"]))
    assert wrong == [], f"writes answering against the matrix: {wrong}"


async def test_no_user_data_write_reaches_another_users_namespace(
    client: httpx.AsyncClient,
) -> None:
    assert {f"/api/v1/userdata/{name}" for name in NAMESPACE_WRITES} == {
        path for (_, path), (target, roles) in REQUIRED.items() if roles == {USER}
    }
    wrong = []
    for name, body in NAMESPACE_WRITES.items():
        url = f"/api/v1/userdata/{name}"
        user = await client.post(url, json=body, headers=_as(USER, Target.USERDATA))
        if user.status_code != 403 or user.json()["error"]["code"] != "forbidden":
            wrong.append((name, "user", user.status_code, user.text[:200]))
        admin = await client.post(url, json=body, headers=_as(ADMIN, Target.USERDATA))
        if admin.status_code in (401, 403) or admin.status_code >= 500:
            wrong.append((name, "admin", admin.status_code, admin.text[:200]))
    assert wrong == [], wrong
