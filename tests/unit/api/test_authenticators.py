"""Authenticators turn a request into a Principal; require() answers 401/403 naming the role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from starlette.requests import Request

from dynamo.api.auth import (
    MemoryUserDirectory,
    TrustedHeaderAuthenticator,
    X509Authenticator,
    build_authenticator,
    client_dn,
)
from dynamo.api.errors import install_error_handlers
from dynamo.api.security import (
    ANONYMOUS,
    Authenticator,
    Principal,
    Role,
    Target,
    UnauthenticatedError,
    require,
)

ALICE = "/DC=ch/DC=cern/OU=Users/CN=alice"
BOB = "/DC=ch/DC=cern/OU=Users/CN=bob"
HEADER = "X-SSL-Client-S-DN"


@pytest.fixture
def directory() -> MemoryUserDirectory:
    users = MemoryUserDirectory()
    users.add_user("alice", ALICE)
    users.grant("alice", Role.OPERATOR, Target.INVENTORY)
    users.add_user("bob", BOB)
    return users


def _request(headers: dict[str, str] | None = None, tls: dict[str, Any] | None = None) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 50_000),
    }
    if tls is not None:
        scope["extensions"] = {"tls": tls}
    return Request(scope)


async def test_x509_without_a_tls_extension_is_anonymous(directory: MemoryUserDirectory) -> None:
    assert await X509Authenticator(directory).principal(_request()) is ANONYMOUS


async def test_x509_with_an_empty_client_chain_is_anonymous(
    directory: MemoryUserDirectory,
) -> None:
    request = _request(tls={"client_cert_chain": []})
    assert await X509Authenticator(directory).principal(request) is ANONYMOUS
    assert client_dn(request.scope) is None


async def test_x509_ignores_dn_headers(directory: MemoryUserDirectory) -> None:
    request = _request(headers={HEADER: ALICE})
    assert await build_authenticator(directory).principal(request) is ANONYMOUS


async def test_a_trusted_header_names_the_caller(directory: MemoryUserDirectory) -> None:
    authenticator = TrustedHeaderAuthenticator(directory, HEADER)
    principal = await authenticator.principal(
        _request(headers={HEADER: "CN=alice,OU=Users,DC=cern,DC=ch"})
    )
    assert (principal.dn, principal.user) == (ALICE, "alice")


async def test_a_trusted_header_with_a_legacy_proxy_dn_names_the_owner(
    directory: MemoryUserDirectory,
) -> None:
    authenticator = TrustedHeaderAuthenticator(directory, HEADER)
    principal = await authenticator.principal(_request(headers={HEADER: f"{ALICE}/CN=proxy"}))
    assert principal.user == "alice"


async def test_without_the_trusted_header_the_fallback_decides(
    directory: MemoryUserDirectory,
) -> None:
    authenticator = build_authenticator(directory, trusted_dn_header=HEADER)
    assert await authenticator.principal(_request()) is ANONYMOUS


def test_a_trusted_header_needs_a_name(directory: MemoryUserDirectory) -> None:
    with pytest.raises(ValueError, match="name"):
        TrustedHeaderAuthenticator(directory, "  ")


router = APIRouter()


@router.post("/inventory-admin")
async def inventory_admin(
    who: Annotated[Principal, Depends(require(Target.INVENTORY, Role.ADMIN))],
) -> dict[str, str | None]:
    return {"dn": who.dn}


@router.post("/inventory-operator")
async def inventory_operator(
    who: Annotated[Principal, Depends(require(Target.INVENTORY, Role.OPERATOR))],
) -> dict[str, str | None]:
    return {"dn": who.dn}


@pytest.fixture
async def client(directory: MemoryUserDirectory) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    authenticator: Authenticator = build_authenticator(directory, trusted_dn_header=HEADER)
    app.state.authenticator = authenticator
    install_error_handlers(app)
    app.include_router(router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_an_anonymous_write_gets_401_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/inventory-operator")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == "x509"


async def test_a_dn_without_the_role_gets_403_naming_the_role_and_the_dn(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/inventory-operator", headers={HEADER: BOB})
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "operator" in message
    assert "inventory" in message
    assert BOB in message


async def test_an_unknown_dn_gets_403_too(client: httpx.AsyncClient) -> None:
    response = await client.post("/inventory-operator", headers={HEADER: "/CN=stranger"})
    assert response.status_code == 403


async def test_a_dn_with_the_role_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/inventory-operator", headers={HEADER: ALICE})
    assert response.status_code == 200
    assert response.json() == {"dn": ALICE}


async def test_operator_is_not_admin_but_admin_implies_operator(
    client: httpx.AsyncClient, directory: MemoryUserDirectory
) -> None:
    response = await client.post("/inventory-admin", headers={HEADER: ALICE})
    assert response.status_code == 403
    assert "admin" in response.json()["error"]["message"]
    directory.grant("bob", Role.ADMIN, Target.INVENTORY)
    for path in ("/inventory-admin", "/inventory-operator"):
        assert (await client.post(path, headers={HEADER: BOB})).status_code == 200


async def test_a_malformed_header_dn_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/inventory-operator", headers={HEADER: "garbage"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_the_trusted_header_from_another_address_is_refused(
    directory: MemoryUserDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    authenticator = TrustedHeaderAuthenticator(directory, HEADER, front_ends=["10.0.0.5"])
    with pytest.raises(UnauthenticatedError, match="only accepted from the front end"):
        await authenticator.principal(_request(headers={HEADER: ALICE}))
    assert "not a trusted front end" in caplog.text


async def test_the_trusted_header_from_the_front_end_is_believed(
    directory: MemoryUserDirectory,
) -> None:
    authenticator = TrustedHeaderAuthenticator(directory, HEADER, front_ends=["127.0.0.1"])
    principal = await authenticator.principal(_request(headers={HEADER: ALICE}))
    assert principal.user == "alice"


def test_a_trusted_header_needs_a_front_end(directory: MemoryUserDirectory) -> None:
    with pytest.raises(ValueError, match="front end"):
        TrustedHeaderAuthenticator(directory, HEADER, front_ends=[])
