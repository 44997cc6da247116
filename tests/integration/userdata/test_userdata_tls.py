"""User data through the real `dynamo server` with TLS and user certificates (curl): the
owner of a namespace injects into it (location, copy, confirmation checked on storage);
another user, an unregistered certificate and an anonymous caller are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import pki
from dynamo.api.auth import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.model import ChangeSet, SetQuota, UpsertGroup, UpsertPartition, UpsertSite
from dynamo.policy import partition_compiler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from integration.api.tls_servers import running_server

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")

SITE = "T2_US_MIT"
DATASET = "/SingleMuon/alice-skim_v1/USER"
LFN = "/store/user/alice/skim_v1/out_1.root"


@dataclass
class Served:
    url: str
    grid: pki.Pki
    storage: Path

    def post(self, path: str, body: dict[str, Any], user: str | None) -> tuple[int, Any]:
        command = ["curl", "-sS", "--capath", str(self.grid.ca_dir), "-w", "\n%{http_code}"]
        if user is not None:
            cert = self.grid.users[user]
            command += ["--cert", str(cert.cert_path), "--key", str(cert.key_path)]
        command += ["-X", "POST", "-H", "Content-Type: application/json"]
        command += ["-d", json.dumps(body), f"{self.url}/api/v1/userdata/{path}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        text, _, status = done.stdout.rpartition("\n")
        return int(status), json.loads(text) if text else None


def _database(path: Path, grid: pki.Pki) -> str:
    """alice and bob are user-data users; carol has a certificate but is not registered."""
    url = f"sqlite:///{path}"
    store = SqlInventoryStore.open(url, upgrade=True)
    try:
        service = InventoryService.load(store, partition_compiler=partition_compiler())
        ops = [
            UpsertSite(name=SITE),
            UpsertGroup(name="userdata"),
            UpsertPartition(name="UserData", condition="blockreplica.owner == userdata"),
            SetQuota(site=SITE, partition="UserData", quota=10**9),
        ]
        store.commit(ChangeSet.of(ops), service.inventory)
        users = SqlUserDirectory(store.engine)
        for name in ("alice", "bob"):
            users.add_user(name, grid.users[name].dn)
            users.grant(name, Role.USER, Target.USERDATA)
    finally:
        store.close()
    return url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    grid = pki.build_pki(tmp_path_factory.mktemp("pki"))
    root = tmp_path_factory.mktemp("userdata-tls")
    storage = root / "mit"
    storage.mkdir()
    config = root / "server.toml"
    config.write_text(f'[storage.{SITE}]\nurl = "file://{storage}"\n', encoding="utf-8")
    host = grid.host
    args = ["--db", _database(root / "dynamo.sqlite", grid), "--config", str(config)]
    args += ["--tls-cert", str(host.cert_path), "--tls-key", str(host.key_path)]
    with running_server([*args, "--ca-dir", str(grid.ca_dir)], root / "server.log") as port:
        yield Served(f"https://127.0.0.1:{port}", grid, storage)


def test_the_owner_injects_and_others_are_refused(served: Served) -> None:
    data = b"histograms " * 500
    body = {"dataset": DATASET, "lfn": LFN, "site": SITE, "size": len(data)}
    assert served.post("locations", body, None)[0] == 401
    assert served.post("locations", body, "carol")[0] == 403
    refused, error = served.post("locations", body, "bob")
    assert refused == 403
    assert "namespace of alice" in error["error"]["message"]
    status, located = served.post("locations", body, "alice")
    assert status == 200, located
    assert located["pfn"] == f"file://{served.storage}{LFN}"
    target = Path(urlsplit(located["pfn"]).path)
    target.parent.mkdir(parents=True)
    target.write_bytes(data)
    confirm = body | {"adler32": f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"}
    assert served.post("files", confirm, "bob")[0] == 403
    status, done = served.post("files", confirm, "alice")
    assert status == 201, done
    assert (done["block"], done["block_closed"]) == (f"{SITE}-0001", False)
    # bob has a namespace of his own
    own = {"dataset": "/SingleMuon/bob-skim/USER", "lfn": "/store/user/bob/a.root", "site": SITE}
    assert served.post("locations", own, "bob")[0] == 200
