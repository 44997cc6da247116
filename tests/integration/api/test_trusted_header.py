"""`dynamo server --trusted-dn-header`: behind a front end, the header names the caller."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import pki

from .tls_servers import make_database, running_server

HEADER = "X-SSL-Client-S-DN"


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def front(grid: pki.Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client standing in for the front end, talking plain HTTP to the server on loopback."""
    root = tmp_path_factory.mktemp("header-server")
    db = make_database(root / "dynamo.sqlite", grid)
    args = ["--db", db, "--allow-http", "--trusted-dn-header", HEADER]
    with (
        running_server(args, root / "server.log") as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1") as client,
    ):
        yield client


def test_the_header_names_the_caller(grid: pki.Pki, front: httpx.Client) -> None:
    body = front.get("/whoami", headers={HEADER: grid.users["alice"].dn}).json()
    assert (body["user"], body["grants"]) == (
        "alice",
        [{"role": "operator", "target": "inventory"}],
    )


def test_the_comma_form_of_nginx_is_understood(grid: pki.Pki, front: httpx.Client) -> None:
    comma = grid.users["alice"].certificate.subject.rfc4514_string()
    assert front.get("/whoami", headers={HEADER: comma}).json()["user"] == "alice"


def test_the_header_grants_nothing_more_than_the_dn_has(grid: pki.Pki, front: httpx.Client) -> None:
    response = front.post("/inject", json={}, headers={HEADER: grid.users["bob"].dn})
    assert response.status_code == 403
    assert "operator" in response.json()["error"]["message"]
    allowed = front.post("/inject", json={}, headers={HEADER: grid.users["alice"].dn})
    assert allowed.status_code == 200


def test_without_the_header_the_caller_is_anonymous(front: httpx.Client) -> None:
    assert front.get("/datasets").status_code == 200
    assert front.post("/inject", json={}).status_code == 401


def test_a_malformed_header_is_a_bad_request(front: httpx.Client) -> None:
    response = front.get("/whoami", headers={HEADER: "not a dn"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
