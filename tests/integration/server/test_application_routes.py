"""The /applications routes over a real scheduler, called through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sched_support import WAIT

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.server.scheduler import Scheduler
from dynamo.server.service import InventoryService

OPERATOR = {"X-Test-DN": "/CN=olga", "X-Test-Grants": "operator:application"}
ADMIN = {"X-Test-DN": "/CN=root", "X-Test-Grants": "admin:application"}
USER = {"X-Test-DN": "/CN=ursula", "X-Test-Grants": "user:inventory"}


@pytest.fixture
async def client(
    service: InventoryService,
    scheduler: Scheduler,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service, authenticator=HeaderTestAuthenticator(), scheduler=scheduler)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def poll_until_final(client: httpx.AsyncClient, run_id: int) -> dict[str, object]:
    async with asyncio.timeout(WAIT):
        while True:
            body: dict[str, object] = (
                await client.get(f"/api/v1/applications/runs/{run_id}")
            ).json()
            if body["status"] not in ("new", "queued", "running"):
                return body
            await asyncio.sleep(0.02)


async def test_the_registered_applications_are_listed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/applications")
    assert response.status_code == 200
    apps = {a["name"]: a["writes"] for a in response.json()}
    assert apps["inventory-stats"] is False
    assert apps["set-dataset-status"] is True


async def test_an_operator_runs_a_read_app_and_reads_its_log(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/applications/inventory-stats/runs", json={"args": {}}, headers=OPERATOR
    )
    assert response.status_code == 201
    run = response.json()
    assert run["user_dn"] == "/CN=olga"
    done = await poll_until_final(client, run["id"])
    assert done["status"] == "done"
    summary = done["summary"]
    assert isinstance(summary, dict)
    assert summary["counts"]["datasets"] == 1
    log = await client.get(f"/api/v1/applications/runs/{run['id']}/log")
    assert log.status_code == 200
    assert "counts:" in log.text
    assert log.headers["X-Run-Status"] == "done"
    offset = int(log.headers["X-Log-Offset"])
    rest = await client.get(f"/api/v1/applications/runs/{run['id']}/log", params={"offset": offset})
    assert rest.text == ""
    listed = await client.get("/api/v1/applications/runs", params={"app": "inventory-stats"})
    assert [r["id"] for r in listed.json()] == [run["id"]]


async def test_submitting_needs_operator_on_application(client: httpx.AsyncClient) -> None:
    anonymous = await client.post("/api/v1/applications/noop/runs", json={})
    assert anonymous.status_code == 401
    user = await client.post("/api/v1/applications/noop/runs", json={}, headers=USER)
    assert user.status_code == 403


async def test_a_write_run_needs_the_app_authorised_for_the_caller(
    client: httpx.AsyncClient,
    service: InventoryService,
) -> None:
    body = {"args": {"datasets": "*", "status": "INVALID"}}
    refused = await client.post(
        "/api/v1/applications/set-dataset-status/runs", json=body, headers=OPERATOR
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    not_admin = await client.post(
        "/api/v1/applications/set-dataset-status/authorizations",
        json={"dn": "/CN=olga"},
        headers=OPERATOR,
    )
    assert not_admin.status_code == 403
    granted = await client.post(
        "/api/v1/applications/set-dataset-status/authorizations",
        json={"dn": "/CN=olga"},
        headers=ADMIN,
    )
    assert granted.status_code == 201
    accepted = await client.post(
        "/api/v1/applications/set-dataset-status/runs", json=body, headers=OPERATOR
    )
    assert accepted.status_code == 201
    done = await poll_until_final(client, accepted.json()["id"])
    assert done["status"] == "done"
    assert done["log_seq"] == service.seq == 2
    failed = await client.get("/api/v1/applications/runs", params={"status": "authfailed"})
    assert [r["user_dn"] for r in failed.json()] == ["/CN=olga"]


async def test_an_operator_kills_a_run(client: httpx.AsyncClient, tmp_path: Path) -> None:
    response = await client.post(
        "/api/v1/applications/gate-read/runs",
        json={"args": {"gate_dir": str(tmp_path)}},
        headers=OPERATOR,
    )
    run_id = response.json()["id"]
    async with asyncio.timeout(WAIT):
        while not (tmp_path / f"started-{run_id}").exists():
            await asyncio.sleep(0.01)
    killed = await client.delete(f"/api/v1/applications/runs/{run_id}", headers=OPERATOR)
    assert killed.status_code == 200
    assert killed.json()["status"] == "killed"
    again = await client.delete(f"/api/v1/applications/runs/{run_id}", headers=OPERATOR)
    assert again.status_code == 409


async def test_unknown_apps_and_runs_are_404(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/api/v1/applications/detox/runs", json={}, headers=OPERATOR)
    assert unknown.status_code == 404
    assert "detox" in unknown.json()["error"]["message"]
    assert (await client.get("/api/v1/applications/runs/999")).status_code == 404


async def test_without_a_scheduler_the_routes_say_so(service: InventoryService) -> None:
    app = create_app(service)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/v1/applications")
    assert response.status_code == 404
    assert "no scheduler" in response.json()["error"]["message"]
