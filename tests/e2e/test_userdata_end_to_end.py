"""User data end to end, with real storage servers behind two sites (XRootD and WebDAV): two
jobs inject files into one dataset at their sites, each through the API (location, copy to the
PFN, confirmation checked on storage); the blocks are per site; a file produced earlier is
imported from an outside WebDAV area; another user's injection into the namespace is refused;
the owner completes the dataset and subscribes it to one site; file operations bring every
file there and the scattered copies are deleted; finally the owner deletes the dataset.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from contract.storage.storage_servers import Server, serve, start_wsgidav, start_xrootd
from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.fileops.endpoints import Endpoint, Endpoints, open_storage
from dynamo.model import ChangeSet, UpsertSite
from dynamo.policy import partition_compiler
from dynamo.server.service import InventoryService
from dynamo.storage import StorageBackend, StorageNotFound
from dynamo.storage.http import WebDavStorage
from dynamo.storage.xrootd import XRootDStorage
from dynamo.store import SqlInventoryStore
from dynamo.userdata import UserDataOptions, UserDataService
from fileops_rounds import fileops_round, unique_root

API = "/api/v1/userdata"
XRD, DAV = "T2_US_MIT", "T2_DE_DESY"
DATASET = "/SingleMuon/alice-skim_v1/USER"
ALICE = {"x-test-dn": "/DC=ch/DC=cern/OU=Users/CN=alice", "x-test-grants": "user:userdata"}
BOB = {"x-test-dn": "/DC=ch/DC=cern/OU=Users/CN=bob", "x-test-grants": "user:userdata"}
ADMIN = {"x-test-dn": "/DC=ch/DC=cern/OU=Ops/CN=ops", "x-test-grants": "admin:userdata"}
NOW = 1_800_000_000


def _lfn(name: str) -> str:
    return f"/store/user/alice/skim_v1/{name}.root"


def _content(name: str) -> bytes:
    return (f"{name} ".encode() * 4000)[: 30_000 + len(name)]


def _adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


@pytest.fixture(scope="module")
def xrootd() -> Iterator[Server]:
    yield from serve(lambda: start_xrootd(http=False))


@pytest.fixture(scope="module")
def wsgidav() -> Iterator[Server]:
    yield from serve(start_wsgidav)


@dataclass
class Grid:
    client: httpx.AsyncClient
    store: SqlInventoryStore
    service: InventoryService
    userdata: UserDataService
    endpoints: Endpoints
    dav_url: str
    dav_root: str

    def storage(self, site: str) -> StorageBackend:
        return self.endpoints[site].storage

    def holds(self, site: str, name: str) -> bool:
        try:
            self.storage(site).stat(_lfn(name))
        except StorageNotFound:
            return False
        return True

    async def job(self, name: str, site: str, tmp: Path, headers: dict[str, str] = ALICE) -> int:
        """What a job does at the end: ask where, copy there by the protocol given, confirm."""
        body = {"dataset": DATASET, "lfn": _lfn(name), "site": site}
        located = await self.client.post(f"{API}/locations", json=body, headers=headers)
        if located.status_code != 200:
            return located.status_code
        pfn, protocol = located.json()["pfn"], located.json()["protocol"]
        parts = urlsplit(pfn)
        assert parts.scheme == protocol
        data = _content(name)
        local = tmp / name
        local.write_bytes(data)
        target = open_storage(f"{parts.scheme}://{parts.netloc}/")
        try:
            target.upload(local, "/" + parts.path.lstrip("/"))
        finally:
            close = getattr(target, "close", None)
            if close is not None:
                close()
        confirm = body | {"size": len(data), "adler32": _adler(data)}
        done = await self.client.post(f"{API}/files", json=confirm, headers=headers)
        return done.status_code

    async def status(self) -> dict[str, Any]:
        found = await self.client.get(f"{API}/datasets/{DATASET}")
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]

    async def cycle(self, rounds: int = 6) -> None:
        """The user-data pass, then the file-operation manager, worker and updater."""
        for step in range(rounds):
            now = NOW + 10 * step
            await self.userdata.run_once()
            inventory = self.service.inventory
            fileops_round(self.store, inventory, self.endpoints, now, seed=11)


@pytest.fixture
async def grid(tmp_path: Path, xrootd: Server, wsgidav: Server) -> AsyncIterator[Grid]:
    xrd_url = f"root://127.0.0.1:{xrootd.ports['root']}"
    xrd_root = unique_root(XRootDStorage(xrd_url), "xrd")
    dav_url = f"http://127.0.0.1:{wsgidav.ports['http']}"
    maker = WebDavStorage(dav_url)
    dav_root = unique_root(maker, "dav")
    maker.close()
    endpoints = Endpoints(
        {
            XRD: Endpoint(site=XRD, url=xrd_url + xrd_root),
            DAV: Endpoint(site=DAV, url=dav_url + dav_root),
        }
    )
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/inv.sqlite", upgrade=True)
    store.commit(ChangeSet.of([UpsertSite(name=XRD), UpsertSite(name=DAV)]), store.load()[0])
    service = InventoryService.load(store, partition_compiler=partition_compiler())
    app = create_app(
        service,
        authenticator=HeaderTestAuthenticator(),
        endpoints=endpoints,
        userdata_options=UserDataOptions(max_files_per_block=10),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for site in (XRD, DAV):
            quota = await client.put(f"{API}/quotas/{site}", json={"quota": 10**9}, headers=ADMIN)
            assert quota.status_code == 200, quota.text
        yield Grid(client, store, service, app.state.userdata, endpoints, dav_url, dav_root)
    store.close()


async def test_two_jobs_inject_and_the_dataset_is_consolidated_at_one_site(
    grid: Grid, tmp_path: Path
) -> None:
    at_xrd, at_dav = ["job1_0", "job1_1"], ["job2_0", "job2_1", "job2_2"]
    for name in at_xrd:
        assert await grid.job(name, XRD, tmp_path) == 201
    for name in at_dav:
        assert await grid.job(name, DAV, tmp_path) == 201
    # another user may neither be given a place in alice's namespace nor register a file there
    assert await grid.job("intruder", XRD, tmp_path, headers=BOB) == 403
    sneaked = {"dataset": DATASET, "lfn": _lfn("intruder"), "site": XRD, "size": 1}
    refused = await grid.client.post(
        f"{API}/files", json=sneaked | {"adler32": "00000001"}, headers=BOB
    )
    assert refused.status_code == 403

    # a file produced earlier, outside Dynamo, imported from a WebDAV area into the namespace
    old = _content("old_result")
    (tmp_path / "old").write_bytes(old)
    outside = WebDavStorage(grid.dav_url)
    outside.upload(tmp_path / "old", f"{grid.dav_root}-outside/old.root")
    outside.close()
    imported = await grid.client.post(
        f"{API}/imports",
        json={
            "dataset": DATASET,
            "site": XRD,
            "files": [
                {
                    "lfn": _lfn("old_result"),
                    "source_url": f"{grid.dav_url}{grid.dav_root}-outside/old.root",
                    "adler32": _adler(old),
                }
            ],
        },
        headers=ALICE,
    )
    assert imported.status_code == 201, imported.text
    summary = await grid.userdata.run_once()
    assert summary.imported == 1
    assert grid.holds(XRD, "old_result")

    status = await grid.status()
    blocks = {b["name"]: b for b in status["blocks"]}
    assert {n: (b["site"], b["num_files"]) for n, b in blocks.items()} == {
        f"{DAV}-0001": (DAV, 3),
        f"{XRD}-0001": (XRD, 3),
    }
    for block in blocks.values():  # a block is at its own site only
        assert [r["site"] for r in block["replicas"]] == [block["site"]]
    assert [i["status"] for i in status["imports"]] == ["done"]

    completed = await grid.client.post(f"{API}/complete", json={"dataset": DATASET}, headers=ALICE)
    assert completed.status_code == 200
    subscribed = await grid.client.post(
        f"{API}/subscriptions", json={"dataset": DATASET, "site": XRD}, headers=ALICE
    )
    assert subscribed.status_code == 200, subscribed.text
    assert subscribed.json()["transfers"] == len(at_dav)
    assert (await grid.status())["state"] == "transferring"
    assert all(grid.holds(DAV, name) and not grid.holds(XRD, name) for name in at_dav)

    await grid.cycle()

    status = await grid.status()
    assert status["state"] == "consolidated"
    assert status["sites"] == [XRD]
    for block in status["blocks"]:
        assert block["replicas"] == [
            {"site": XRD, "num_files": block["num_files"], "size": block["size"], "complete": True}
        ]
    for name in [*at_xrd, *at_dav, "old_result"]:
        assert grid.holds(XRD, name), name
        data = _content(name)
        assert grid.storage(XRD).checksum(_lfn(name)) == _adler(data)
    for name in at_dav:
        assert not grid.holds(DAV, name), name

    # the owner deletes the dataset: its files go, then the dataset
    deleted = await grid.client.post(f"{API}/deletions", json={"dataset": DATASET}, headers=ALICE)
    assert deleted.status_code == 200
    assert deleted.json()["deletions"] == 6
    await grid.cycle(rounds=3)
    assert (await grid.status())["state"] == "deleted"
    assert DATASET not in grid.service.inventory.datasets
    for name in [*at_xrd, *at_dav, "old_result"]:
        assert not grid.holds(XRD, name), name
