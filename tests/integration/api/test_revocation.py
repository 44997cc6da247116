"""Revoked users against the real `dynamo server` with TLS: a user removed from the directory
(`dynamo admin user remove`) and a certificate revoked by its CA's CRL (``<hash>.r0`` in the
CA directory, or a file given with ``--crl``), each presented as a plain certificate and as an
RFC 3820 proxy. The server looks at the users and the CRLs again every 0.2 s here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pki
from dynamo.api.auth import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.store import make_engine

from .tls_servers import curl, make_database, running_server

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

USERS = ("alice", "bob", "carol", "dave", "erin")
INJECT = ["-X", "POST", "-H", "Content-Type: application/json", "-d", "{}"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.build_pki(tmp_path_factory.mktemp("pki"), users=USERS)


@pytest.fixture(scope="module")
def setup(grid: pki.Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(server URL, database URL): dave and erin are operators on the inventory too."""
    root = tmp_path_factory.mktemp("revocation-server")
    db = make_database(root / "dynamo.sqlite", grid)
    engine = make_engine(db)
    users = SqlUserDirectory(engine)
    for name in ("dave", "erin"):
        users.add_user(name, grid.users[name].dn)
        users.grant(name, Role.OPERATOR, Target.INVENTORY)
    engine.dispose()
    pki.write_crl(grid, (), root / "extra.crl")
    config = root / "server.toml"
    config.write_text("[server]\ncrl_refresh_seconds = 0.2\nuser_cache_seconds = 0.2\n")
    host = grid.host
    args = ["--config", str(config), "--db", db, "--ca-dir", str(grid.ca_dir)]
    args += ["--tls-cert", str(host.cert_path), "--tls-key", str(host.key_path)]
    with running_server([*args, "--crl", str(root / "extra.crl")], root / "server.log") as port:
        yield f"https://127.0.0.1:{port}", db


def proxy(grid: pki.Pki, name: str) -> list[str]:
    return ["--cert", str(grid.proxies[name].cert_path)]


def certificate(grid: pki.Pki, name: str) -> list[str]:
    user = grid.users[name]
    return ["--cert", str(user.cert_path), "--key", str(user.key_path)]


def eventually(grid: pki.Pki, status: int, url: str, *args: str) -> tuple[int, Any]:
    """The first answer of ``curl ARGS URL`` with ``status`` within 10 s (the server's caches
    last 0.2 s), or the last one."""
    deadline = time.monotonic() + 10
    while True:
        got = curl(grid, url, *args)
        if got[0] == status or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_a_user_removed_from_the_directory_is_refused_with_a_proxy(
    grid: pki.Pki, setup: tuple[str, str]
) -> None:
    server, db = setup
    assert curl(grid, f"{server}/api/v1/inject", *proxy(grid, "erin"), *INJECT)[0] == 200
    command = [sys.executable, "-m", "dynamo.cli.main", "admin", "user", "remove", "erin"]
    done = subprocess.run([*command, "--db", db], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "removed user erin" in done.stdout
    for credential in (proxy(grid, "erin"), certificate(grid, "erin")):
        status, body = eventually(grid, 403, f"{server}/api/v1/inject", *credential, *INJECT)
        assert status == 403
        assert body["error"]["code"] == "forbidden"
        assert grid.users["erin"].dn in body["error"]["message"]
    whoami = curl(grid, f"{server}/api/v1/whoami", *proxy(grid, "erin"))[1]
    assert (whoami["dn"], whoami["user"], whoami["grants"]) == (grid.users["erin"].dn, None, [])


def test_a_certificate_revoked_by_the_ca_directory_crl_is_refused_with_its_proxies(
    grid: pki.Pki, setup: tuple[str, str]
) -> None:
    server, _ = setup
    assert curl(grid, f"{server}/api/v1/whoami", *proxy(grid, "dave"))[1]["user"] == "dave"
    pki.write_crl(grid, (grid.users["dave"],))
    # whoami asks who the caller is; the open reads (a cached listing too) never do, and
    # refuse a revoked chain all the same
    paths = ("whoami", "datasets", "replicas?site=T2_*", "replicas?site=T2_*")
    for credential in (proxy(grid, "dave"), certificate(grid, "dave")):
        for method, path in [(["-X", "GET"], path) for path in paths] + [(INJECT, "inject")]:
            status, body = eventually(grid, 401, f"{server}/api/v1/{path}", *credential, *method)
            assert status == 401, (path, body)
            assert body["error"]["code"] == "certificate_revoked"
            assert "CN=dave" in body["error"]["message"]
    assert curl(grid, f"{server}/api/v1/inject", *proxy(grid, "alice"), *INJECT)[0] == 200
    for path in paths[1:]:
        assert curl(grid, f"{server}/api/v1/{path}")[0] == 200
        assert curl(grid, f"{server}/api/v1/{path}", *proxy(grid, "alice"))[0] == 200


def test_a_certificate_revoked_by_a_configured_crl_file_is_refused(
    grid: pki.Pki, setup: tuple[str, str], tmp_path: Path
) -> None:
    server, db = setup
    extra = Path(db.removeprefix("sqlite:///")).parent / "extra.crl"
    assert curl(grid, f"{server}/api/v1/whoami", *proxy(grid, "carol"))[0] == 200
    pki.write_crl(grid, (grid.users["carol"],), extra)
    status, body = eventually(grid, 401, f"{server}/api/v1/whoami", *proxy(grid, "carol"))
    assert (status, body["error"]["code"]) == (401, "certificate_revoked")
