"""POST /requests/copy|deletion, GET /requests[/{id}], POST /requests/{id}/cancel."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dynamo.registry import RequestStatus
from dynamo.store.registry import SqlRegistryStore
from registry_data import B1, DN, MU_D, ZB_C, ZB_D

from .conftest import ADMIN, ALICE, BOB, NO_ROLE, NOW, OPERATOR, FakeClock

COPY = {"items": [ZB_D], "sites": ["T2_US_*"], "group": "AnalysisOps", "n": 1}


async def test_a_copy_request_is_created_new_with_expanded_sites(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "copy"
    assert body["status"] == "new"
    assert (body["user"], body["dn"]) == ("alice", DN)
    assert body["sites"] == ["T2_US_MIT", "T2_US_Purdue"]
    assert (body["first_request"], body["request_count"], body["actions"]) == (NOW, 1, [])
    fetched = await api.get(f"/api/v1/requests/{body['id']}")
    assert fetched.json() == body


async def test_the_same_copy_request_again_bumps_its_count(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = (await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)).json()
    clock.now += 60
    again = await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert (again.json()["request_count"], again.json()["last_request"]) == (2, NOW + 60)
    by_bob = await api.post("/api/v1/requests/copy", json=COPY, headers=BOB)
    assert by_bob.status_code == 201
    assert len((await api.get("/api/v1/requests")).json()) == 2


async def test_a_deletion_request_is_created_and_deduplicated(api: httpx.AsyncClient) -> None:
    body = {"items": [f"{ZB_D}#{B1}"], "sites": ["T2_CH_CERN"]}
    first = await api.post("/api/v1/requests/deletion", json=body, headers=ALICE)
    assert first.status_code == 201
    assert (first.json()["kind"], first.json()["group"], first.json()["n"]) == ("deletion", None, 0)
    again = await api.post("/api/v1/requests/deletion", json=body, headers=ALICE)
    assert (again.status_code, again.json()["request_count"]) == (200, 2)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({**COPY, "items": ["/No/Such/AOD"]}, "unknown item '/No/Such/AOD'"),
        ({**COPY, "items": [f"{ZB_D}#nope"]}, "unknown item"),
        ({**COPY, "items": ["/ZeroBias/*/AOD"]}, "wildcards are not allowed"),
        ({**COPY, "sites": ["T3_*"]}, "matches no known site"),
        ({**COPY, "sites": ["T2_[US"]}, "unclosed '['"),
        ({**COPY, "group": "Nobody"}, "unknown group"),
        ({**COPY, "n": -1}, "body.n"),
        ({**COPY, "n": "2"}, "body.n"),
        ({**COPY, "items": []}, "body.items"),
        ({**COPY, "sites": "T2_US_MIT"}, "body.sites"),
        ({**COPY, "extra": 1}, "body.extra"),
        ({"sites": ["T2_US_MIT"]}, "body.items"),
    ],
)
async def test_a_malformed_copy_request_is_a_400_and_writes_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], where: str
) -> None:
    response = await api.post("/api/v1/requests/copy", json=body, headers=ALICE)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert where in error["message"]
    assert (await api.get("/api/v1/requests")).json() == []


async def test_a_body_that_is_not_json_is_a_400(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/v1/requests/copy",
        content=b"{not json",
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/requests/copy", "/api/v1/requests/deletion"])
async def test_making_a_request_needs_an_identity_and_a_registry_role(
    api: httpx.AsyncClient, path: str
) -> None:
    body = {"items": [ZB_D], "sites": ["T2_US_MIT"]}
    anonymous = await api.post(path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    no_role = await api.post(path, json=body, headers=NO_ROLE)
    assert no_role.status_code == 403
    assert "registry" in no_role.json()["error"]["message"]
    assert (await api.get("/api/v1/requests")).json() == []


async def test_requests_are_polled_by_filters_newest_first(api: httpx.AsyncClient) -> None:
    zb = (await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)).json()
    mu = await api.post(
        "/api/v1/requests/copy", json={"items": [MU_D], "sites": ["T2_CH_CERN"]}, headers=BOB
    )
    gone = await api.post(
        "/api/v1/requests/deletion",
        json={"items": [ZB_C], "sites": ["T2_US_Purdue"]},
        headers=ALICE,
    )
    ids = [zb["id"], mu.json()["id"], gone.json()["id"]]

    async def poll(**params: Any) -> list[int]:
        response = await api.get("/api/v1/requests", params=params)
        assert response.status_code == 200
        return [r["id"] for r in response.json()]

    assert await poll() == ids[::-1]
    assert await poll(kind="copy") == [ids[1], ids[0]]
    assert await poll(user="bob") == [ids[1]]
    assert await poll(item=ZB_C) == [ids[2]]
    assert await poll(site="T2_US_MIT") == [ids[0]]
    assert await poll(status="new", limit=1) == [ids[2]]
    assert await poll(id=[ids[0], ids[2]]) == [ids[2], ids[0]]
    assert await poll(status="cancelled") == []


@pytest.mark.parametrize(
    "params", [{"status": "sleeping"}, {"kind": "move"}, {"limit": 0}, {"id": "x"}]
)
async def test_a_bad_poll_filter_is_a_400(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await api.get("/api/v1/requests", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


async def test_an_unknown_request_is_a_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/requests/999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    cancel = await api.post("/api/v1/requests/999/cancel", headers=ALICE)
    assert cancel.status_code == 404


async def test_the_owner_cancels_a_new_request_once(api: httpx.AsyncClient) -> None:
    made = (await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)).json()
    cancelled = await api.post(f"/api/v1/requests/{made['id']}/cancel", headers=ALICE)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = await api.post(f"/api/v1/requests/{made['id']}/cancel", headers=ALICE)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert "only a new request can be cancelled" in again.json()["error"]["message"]


async def test_another_user_cannot_cancel_but_an_operator_or_admin_can(
    api: httpx.AsyncClient,
) -> None:
    first = (await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)).json()
    refused = await api.post(f"/api/v1/requests/{first['id']}/cancel", headers=BOB)
    assert refused.status_code == 403
    assert (await api.get(f"/api/v1/requests/{first['id']}")).json()["status"] == "new"
    by_operator = await api.post(f"/api/v1/requests/{first['id']}/cancel", headers=OPERATOR)
    assert by_operator.json()["status"] == "cancelled"
    second = (await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)).json()
    by_admin = await api.post(f"/api/v1/requests/{second['id']}/cancel", headers=ADMIN)
    assert by_admin.json()["status"] == "cancelled"


async def test_an_activated_request_cannot_be_cancelled(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    made = (await api.post("/api/v1/requests/copy", json=COPY, headers=ALICE)).json()
    app.state.registry.update_request(made["id"], RequestStatus.ACTIVATED)
    response = await api.post(f"/api/v1/requests/{made['id']}/cancel", headers=ALICE)
    assert response.status_code == 409
    assert "is activated" in response.json()["error"]["message"]


def test_the_default_registry_lives_in_the_inventory_database(app: FastAPI) -> None:
    assert isinstance(app.state.registry, SqlRegistryStore)


@pytest.mark.parametrize("path", ["/api/v1/requests/0", f"/api/v1/requests/{2**63}"])
async def test_an_id_out_of_range_is_a_400_not_a_500(api: httpx.AsyncClient, path: str) -> None:
    assert (await api.get(path)).status_code == 400
    assert (await api.get("/api/v1/requests", params={"id": 10**30})).status_code == 400


async def test_reading_a_create_route_is_a_405_not_a_bad_id(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/v1/requests/copy")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
