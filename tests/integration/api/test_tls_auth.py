"""The real `dynamo server` with TLS: curl and the DynamoClient with user certificates and
proxies; anonymous reads, 401 for anonymous writes, 403 naming the missing role."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import pki
from dynamo.client.credentials import credentials_from_env
from dynamo.client.http import ApiError, DynamoClient, client_from_env
from unit.model.conftest import DATASET

from .tls_servers import curl, make_database, running_server

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def server(grid: pki.Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("tls-server")
    db = make_database(root / "dynamo.sqlite", grid)
    host = grid.host
    args = ["--db", db, "--tls-cert", str(host.cert_path), "--tls-key", str(host.key_path)]
    with running_server([*args, "--ca-dir", str(grid.ca_dir)], root / "server.log") as port:
        yield f"https://127.0.0.1:{port}"


def as_user(grid: pki.Pki, name: str) -> list[str]:
    user = grid.users[name]
    return ["--cert", str(user.cert_path), "--key", str(user.key_path)]


def post_inject() -> list[str]:
    return ["-X", "POST", "-H", "Content-Type: application/json", "-d", "{}"]


def test_curl_with_a_user_certificate_gets_json(grid: pki.Pki, server: str) -> None:
    status, body = curl(grid, f"{server}/api/v1/datasets", *as_user(grid, "alice"))
    assert status == 200
    assert [item["name"] for item in body["items"]] == [DATASET]


def test_the_server_knows_the_user_of_the_certificate(grid: pki.Pki, server: str) -> None:
    status, body = curl(grid, f"{server}/api/v1/whoami", *as_user(grid, "alice"))
    assert status == 200
    assert body == {
        "authenticated": True,
        "dn": grid.users["alice"].dn,
        "user": "alice",
        "grants": [{"role": "operator", "target": "inventory"}],
    }


def test_a_proxy_is_its_owner(grid: pki.Pki, server: str) -> None:
    proxy = str(grid.proxies["alice"].cert_path)
    status, body = curl(grid, f"{server}/api/v1/whoami", "--cert", proxy)
    assert status == 200
    assert (body["dn"], body["user"]) == (grid.users["alice"].dn, "alice")


def test_a_user_with_the_role_may_write(grid: pki.Pki, server: str) -> None:
    status, body = curl(grid, f"{server}/api/v1/inject", *as_user(grid, "alice"), *post_inject())
    assert status == 200
    assert body["operations"] == 0


def test_without_a_certificate_reads_work_and_writes_get_401(grid: pki.Pki, server: str) -> None:
    assert curl(grid, f"{server}/api/v1/datasets")[0] == 200
    assert curl(grid, f"{server}/api/v1/whoami")[1]["authenticated"] is False
    status, body = curl(grid, f"{server}/api/v1/inject", *post_inject())
    assert status == 401
    assert body["error"]["code"] == "unauthenticated"


def test_a_dn_without_the_role_gets_403_naming_the_role(grid: pki.Pki, server: str) -> None:
    status, body = curl(grid, f"{server}/api/v1/inject", *as_user(grid, "bob"), *post_inject())
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    assert "operator" in body["error"]["message"]
    assert grid.users["bob"].dn in body["error"]["message"]


def test_an_unregistered_dn_is_authenticated_but_forbidden(grid: pki.Pki, server: str) -> None:
    status, body = curl(grid, f"{server}/api/v1/whoami", *as_user(grid, "carol"))
    assert (status, body["dn"], body["user"]) == (200, grid.users["carol"].dn, None)
    assert curl(grid, f"{server}/api/v1/inject", *as_user(grid, "carol"), *post_inject())[0] == 403


def test_a_dn_header_is_ignored_unless_configured(grid: pki.Pki, server: str) -> None:
    header = f"X-SSL-Client-S-DN: {grid.users['alice'].dn}"
    assert curl(grid, f"{server}/api/v1/inject", "-H", header, *post_inject())[0] == 401


def test_a_certificate_from_an_unknown_ca_is_refused_at_the_handshake(
    grid: pki.Pki, server: str, tmp_path: Path
) -> None:
    stranger = pki.build_pki(tmp_path, users=("mallory",)).users["mallory"]
    command = ["curl", "-sS", "--capath", str(grid.ca_dir), "--cert", str(stranger.cert_path)]
    command += ["--key", str(stranger.key_path), f"{server}/api/v1/whoami"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert '"authenticated"' not in done.stdout


def test_the_client_uses_x509_user_proxy_and_x509_cert_dir(grid: pki.Pki, server: str) -> None:
    env = {
        "X509_USER_PROXY": str(grid.proxies["alice"].cert_path),
        "X509_CERT_DIR": str(grid.ca_dir),
    }
    with DynamoClient(server, credentials=credentials_from_env(env)) as client:
        assert client.get("/whoami")["user"] == "alice"
        assert client.post("/inject", {})["operations"] == 0


def test_the_client_uses_x509_user_cert_and_key(grid: pki.Pki, server: str) -> None:
    bob = grid.users["bob"]
    env = {
        "X509_USER_CERT": str(bob.cert_path),
        "X509_USER_KEY": str(bob.key_path),
        "X509_CERT_DIR": str(grid.ca_dir),
    }
    with DynamoClient(server, credentials=credentials_from_env(env)) as client:
        assert client.get("/whoami")["user"] == "bob"
        with pytest.raises(ApiError, match="operator") as error:
            client.post("/inject", {})
    assert error.value.status == 403


def test_the_client_from_the_environment_talks_to_the_server(
    grid: pki.Pki, server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DYNAMO_SERVER", server)
    monkeypatch.setenv("X509_USER_PROXY", str(grid.proxies["alice"].cert_path))
    monkeypatch.setenv("X509_CERT_DIR", str(grid.ca_dir))
    with client_from_env() as client:
        assert client.get("/whoami")["dn"] == grid.users["alice"].dn


def test_a_client_without_a_certificate_gets_401_on_writes(grid: pki.Pki, server: str) -> None:
    env = {"X509_CERT_DIR": str(grid.ca_dir), "HOME": "/nonexistent"}
    with DynamoClient(server, credentials=credentials_from_env(env)) as client:
        assert client.get("/whoami")["authenticated"] is False
        with pytest.raises(ApiError) as error:
            client.post("/inject", {})
    assert (error.value.status, error.value.code) == (401, "unauthenticated")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        (
            "expired",
            (dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2021, 1, 1, tzinfo=dt.UTC)),
        ),
        ("early", (dt.datetime(2098, 1, 1, tzinfo=dt.UTC), dt.datetime(2099, 1, 1, tzinfo=dt.UTC))),
    ],
)
def test_an_expired_or_not_yet_valid_certificate_is_refused_at_the_handshake(
    grid: pki.Pki, server: str, name: str, valid: tuple[dt.datetime, dt.datetime]
) -> None:
    user = pki.user_valid_between(grid, name, *valid)
    command = ["curl", "-sS", "--capath", str(grid.ca_dir), "--cert", str(user.cert_path)]
    command += ["--key", str(user.key_path), f"{server}/api/v1/whoami"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0, done.stdout
    assert '"authenticated"' not in done.stdout
