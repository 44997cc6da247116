"""The consistency report routes over a SQLite store holding recorded runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.consistency import Action, Finding, Kind, record_run
from dynamo.server.service import InventoryService
from dynamo.store import MemoryInventoryStore, SqlInventoryStore

API = "/api/v1/consistency"


def _findings(n: int) -> list[Finding]:
    found = [
        Finding(kind=Kind.ORPHAN, path=f"/store/dark/{i}.root", action=Action.DELETE, size=i)
        for i in range(n)
    ]
    found.append(Finding(kind=Kind.MISSING, path="/store/mc/a.root", action=Action.WAIT))
    return found


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, list[int]]]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/c.sqlite", upgrade=True)
    ids = []
    with store.engine.begin() as conn:
        for n, (site, status) in enumerate(
            [("T2_US_MIT", "done"), ("T1_US_FNAL_Disk", "held"), ("T2_US_MIT", "done")]
        ):
            ids.append(
                record_run(
                    conn,
                    site=site,
                    mode="run",
                    status=status,
                    reason="orphan files: 4 > 3; nothing deleted" if status == "held" else None,
                    started=1_700_000_000 + n,
                    finished=1_700_000_100 + n,
                    summary={"orphan": 3 + n},
                    findings=_findings(3 + n),
                )
            )
    app = create_app(InventoryService.load(store), authenticator=HeaderTestAuthenticator())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, ids


async def test_runs_list_newest_first_and_filter_by_site(setup: tuple) -> None:
    client, ids = setup
    runs = (await client.get(f"{API}/runs")).json()
    assert [r["id"] for r in runs] == ids[::-1]
    mit = (await client.get(f"{API}/runs", params={"site": "T2_US_MIT"})).json()
    assert [r["id"] for r in mit] == [ids[2], ids[0]]
    older = (await client.get(f"{API}/runs", params={"before": ids[2], "limit": 1})).json()
    assert [r["id"] for r in older] == [ids[1]]


async def test_the_latest_run_of_every_site(setup: tuple) -> None:
    client, ids = setup
    latest = (await client.get(f"{API}/sites")).json()
    assert [(r["site"], r["id"], r["status"]) for r in latest] == [
        ("T1_US_FNAL_Disk", ids[1], "held"),
        ("T2_US_MIT", ids[2], "done"),
    ]
    assert latest[0]["reason"] == "orphan files: 4 > 3; nothing deleted"


async def test_a_runs_files_page_and_filter_by_kind(setup: tuple) -> None:
    client, ids = setup
    page = (await client.get(f"{API}/runs/{ids[2]}/files", params={"limit": 3})).json()
    assert [f["path"] for f in page["items"]] == [f"/store/dark/{i}.root" for i in range(3)]
    rest = (await client.get(f"{API}/runs/{ids[2]}/files", params={"after": page["next"]})).json()
    assert len(rest["items"]) == 3
    assert rest["next"] is None
    missing = (await client.get(f"{API}/runs/{ids[2]}/files", params={"kind": "missing"})).json()
    assert [(f["kind"], f["action"]) for f in missing["items"]] == [("missing", "wait")]


@pytest.mark.parametrize("path", ["/runs/999999", "/runs/999999/files"])
async def test_an_unknown_run_is_a_404(setup: tuple, path: str) -> None:
    client, _ = setup
    response = await client.get(API + path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_a_server_without_a_database_has_no_reports() -> None:
    app = create_app(InventoryService.load(MemoryInventoryStore()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(f"{API}/runs")
    assert response.status_code == 404
    assert "keeps no consistency reports" in response.json()["error"]["message"]
