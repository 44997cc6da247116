"""The TLS protocol class in-process: uvicorn with ``uvicorn_config``, a test-only router that
requires admin on the inventory, and the identity carried by every request of a connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI

import pki
from dynamo.api.auth import MemoryUserDirectory, X509Authenticator, uvicorn_config
from dynamo.api.errors import install_error_handlers
from dynamo.api.routes import whoami
from dynamo.api.security import Principal, Role, Target, require
from dynamo.client.credentials import Credentials
from dynamo.server.config import ServerConfig

from .tls_servers import free_port, wait_for_listener

router = APIRouter()


@router.delete("/everything")
async def delete_everything(
    who: Annotated[Principal, Depends(require(Target.INVENTORY, Role.ADMIN))],
) -> dict[str, str | None]:
    return {"deleted_by": who.user}


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def directory(grid: pki.Pki) -> MemoryUserDirectory:
    users = MemoryUserDirectory()
    users.add_user("alice", grid.users["alice"].dn)
    users.grant("alice", Role.OPERATOR, Target.INVENTORY)
    return users


@pytest.fixture(scope="module")
def server(grid: pki.Pki, directory: MemoryUserDirectory) -> Iterator[str]:
    app = FastAPI()
    app.state.authenticator = X509Authenticator(directory)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(whoami.router)
    settings = ServerConfig(
        port=free_port(),
        tls_cert=str(grid.host.cert_path),
        tls_key=str(grid.host.key_path),
        ca_dir=str(grid.ca_dir),
    )
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_listener(lambda: server.started, thread)
    yield f"https://127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(timeout=30)


def client(grid: pki.Pki, server: str, identity: pki.Identity | None) -> httpx.Client:
    credentials = Credentials(
        cert=identity.cert_path if identity else None,
        key=identity.key_path if identity else None,
        ca_dir=grid.ca_dir,
    )
    return httpx.Client(base_url=server, verify=credentials.ssl_context())


def test_every_request_of_a_connection_carries_the_proxy_owner(grid: pki.Pki, server: str) -> None:
    with client(grid, server, grid.proxies["alice"]) as http:
        answers = [http.get("/whoami").json() for _ in range(3)]
    assert {answer["dn"] for answer in answers} == {grid.users["alice"].dn}


def test_an_operator_is_not_an_admin(grid: pki.Pki, server: str) -> None:
    with client(grid, server, grid.users["alice"]) as http:
        response = http.delete("/everything")
    assert response.status_code == 403
    assert "admin" in response.json()["error"]["message"]


def test_an_admin_grant_opens_the_admin_route(
    grid: pki.Pki, server: str, directory: MemoryUserDirectory
) -> None:
    directory.add_user("carol", grid.users["carol"].dn)
    directory.grant("carol", Role.ADMIN, Target.INVENTORY)
    with client(grid, server, grid.proxies["carol"]) as http:
        response = http.delete("/everything")
    assert (response.status_code, response.json()) == (200, {"deleted_by": "carol"})


def test_without_a_certificate_the_admin_route_gets_401(grid: pki.Pki, server: str) -> None:
    with client(grid, server, None) as http:
        response = http.delete("/everything")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
