"""A user-data world for the API tests: a SQLite inventory with two disk sites whose storage
is a local directory each, the UserData partition with quotas set through the API, and callers
identified by test headers (the DN's last component is the user name)."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.model import ChangeSet, UpsertSite
from dynamo.policy import partition_compiler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.userdata import UserDataOptions, UserDataService

API = "/api/v1/userdata"
SITES = ("T2_US_MIT", "T2_DE_DESY")
ALICE = {"x-test-dn": "/DC=ch/DC=cern/OU=Users/CN=alice", "x-test-grants": "user:userdata"}
BOB = {"x-test-dn": "/DC=ch/DC=cern/OU=Users/CN=bob", "x-test-grants": "user:userdata"}
ADMIN = {"x-test-dn": "/DC=ch/DC=cern/OU=Ops/CN=ops", "x-test-grants": "admin:userdata"}
NOBODY = {"x-test-dn": "/DC=ch/DC=cern/OU=Users/CN=carol", "x-test-grants": "user:registry"}
DATASET = "/SingleMuon/alice-skim_v1/USER"


def lfn(name: str, user: str = "alice") -> str:
    return f"/store/user/{user}/skim_v1/{name}.root"


def content(name: str, size: int = 2000) -> bytes:
    return (f"{name} ".encode() * size)[:size]


def adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


@dataclass
class World:
    client: httpx.AsyncClient
    store: SqlInventoryStore
    service: InventoryService
    userdata: UserDataService
    roots: dict[str, Path]
    app: FastAPI

    async def locate(
        self, name: str, site: str, *, headers: dict[str, str] = ALICE, **body: Any
    ) -> httpx.Response:
        payload = {"dataset": DATASET, "lfn": lfn(name), "site": site, **body}
        return await self.client.post(f"{API}/locations", json=payload, headers=headers)

    async def inject(
        self, name: str, site: str, *, size: int = 2000, headers: dict[str, str] = ALICE
    ) -> httpx.Response:
        """The job's sequence: ask, copy to the PFN, confirm."""
        located = await self.locate(name, site, headers=headers, size=size)
        assert located.status_code == 200, located.text
        data = content(name, size)
        path = Path(urlsplit(located.json()["pfn"]).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return await self.confirm(name, site, len(data), adler(data), headers=headers)

    async def confirm(
        self,
        name: str,
        site: str,
        size: int,
        checksum: str,
        *,
        headers: dict[str, str] = ALICE,
        **body: Any,
    ) -> httpx.Response:
        payload = {"dataset": DATASET, "lfn": lfn(name), "site": site, "size": size}
        payload |= {"adler32": checksum, **body}
        return await self.client.post(f"{API}/files", json=payload, headers=headers)

    async def status(self, dataset: str = DATASET) -> dict[str, Any]:
        found = await self.client.get(f"{API}/datasets/{dataset}")
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]


async def make_world(
    tmp_path: Path, *, quota: int = 10**9, max_files: int = 100
) -> AsyncIterator[World]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/userdata.sqlite", upgrade=True)
    store.commit(ChangeSet.of(UpsertSite(name=s) for s in SITES), store.load()[0])
    service = InventoryService.load(store, partition_compiler=partition_compiler())
    roots = {site: tmp_path / site for site in SITES}
    for root in roots.values():
        root.mkdir()
    endpoints = Endpoints({s: Endpoint(site=s, url=f"file://{roots[s]}") for s in SITES})
    app = create_app(
        service,
        authenticator=HeaderTestAuthenticator(),
        endpoints=endpoints,
        userdata_options=UserDataOptions(max_files_per_block=max_files),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for site in SITES:
            done = await client.put(f"{API}/quotas/{site}", json={"quota": quota}, headers=ADMIN)
            assert done.status_code == 200, done.text
        yield World(client, store, service, app.state.userdata, roots, app)
    store.close()
