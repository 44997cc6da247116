"""POST /locks (create or renew), GET /locks[/{id}], DELETE /locks/{id}; expiry by the clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from registry_data import B1, DN, ZB_C, ZB_D

from .conftest import ADMIN, ALICE, BOB, NO_ROLE, NOW, FakeClock

DAY = 86_400
LOCK = {"item": ZB_D, "sites": "T2_US_*", "expires": "7d", "comment": "analysis"}


async def make(api: httpx.AsyncClient, headers: dict[str, str] = ALICE, **body: Any) -> Any:
    response = await api.post("/api/v1/locks", json={**LOCK, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_lock_is_created_active_with_its_expiry(api: httpx.AsyncClient) -> None:
    lock = await make(api)
    assert (lock["item"], lock["sites"], lock["groups"]) == (ZB_D, "T2_US_*", None)
    assert (lock["created"], lock["expires"], lock["active"]) == (NOW, NOW + 7 * DAY, True)
    assert (lock["user"], lock["dn"], lock["service"], lock["released"]) == (
        "alice",
        DN,
        "user",
        None,
    )
    assert (await api.get(f"/api/v1/locks/{lock['id']}")).json() == lock


@pytest.mark.parametrize(
    ("expires", "expected"),
    [("12h", NOW + 43_200), ("2030-01-31T12:00:00Z", 1_896_091_200), (NOW + 5, NOW + 5)],
)
async def test_an_expiry_may_be_a_duration_a_date_or_epoch_seconds(
    api: httpx.AsyncClient, expires: str | int, expected: int
) -> None:
    assert (await make(api, expires=expires))["expires"] == expected


async def test_the_same_lock_again_renews_it(api: httpx.AsyncClient, clock: FakeClock) -> None:
    first = await make(api)
    clock.now += DAY
    renewed = await api.post("/api/v1/locks", json={**LOCK, "expires": "30d"}, headers=ALICE)
    assert renewed.status_code == 200
    assert renewed.json()["id"] == first["id"]
    assert renewed.json()["expires"] == NOW + 31 * DAY
    assert len((await api.get("/api/v1/locks")).json()) == 1


async def test_a_lock_expires_by_the_clock(api: httpx.AsyncClient, clock: FakeClock) -> None:
    lock = await make(api, expires="1h")
    assert [x["id"] for x in (await api.get("/api/v1/locks?active=true")).json()] == [lock["id"]]
    clock.now += 3600
    assert (await api.get("/api/v1/locks?active=true")).json() == []
    expired = (await api.get("/api/v1/locks?active=false")).json()
    assert [(x["id"], x["active"]) for x in expired] == [(lock["id"], False)]
    again = await api.post("/api/v1/locks", json={**LOCK, "expires": "1h"}, headers=ALICE)
    assert again.status_code == 201


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"item": "/No/Such/AOD"}, "unknown item"),
        ({"item": "/Nothing/*/AOD"}, "matches no dataset"),
        ({"item": f"{ZB_D}#x*"}, "wildcards are not allowed"),
        ({"sites": "T9_*"}, "matches no known site"),
        ({"sites": "T2_[US"}, "unclosed '['"),
        ({"groups": "Nobody"}, "matches no known group"),
        ({"expires": "7 days"}, "bad expiry"),
        ({"expires": "0d"}, "longer than zero"),
        ({"expires": "2020-01-01"}, "not in the future"),
        ({"expires": NOW - 1}, "not in the future"),
        ({"expires": None}, "body.expires"),
        ({"item": ""}, "body.item"),
        ({"owner": "someone"}, "body.owner"),
    ],
)
async def test_a_malformed_lock_is_a_400_and_writes_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], where: str
) -> None:
    response = await api.post("/api/v1/locks", json={**LOCK, **body}, headers=ALICE)
    assert response.status_code == 400, response.text
    assert where in response.json()["error"]["message"]
    assert (await api.get("/api/v1/locks")).json() == []


async def test_locking_needs_an_identity_and_a_registry_role(api: httpx.AsyncClient) -> None:
    assert (await api.post("/api/v1/locks", json=LOCK)).status_code == 401
    assert (await api.post("/api/v1/locks", json=LOCK, headers=NO_ROLE)).status_code == 403
    assert (await api.get("/api/v1/locks")).json() == []


async def test_locks_are_listed_by_user_item_site_and_activity(api: httpx.AsyncClient) -> None:
    zbd = await make(api)
    block = await make(api, item=f"{ZB_D}#{B1}", sites=None)
    zbc = await make(api, BOB, item=ZB_C, sites="T2_US_Purdue", service="unified")

    async def ids(**params: Any) -> list[int]:
        response = await api.get("/api/v1/locks", params=params)
        assert response.status_code == 200
        return [x["id"] for x in response.json()]

    assert await ids() == [zbc["id"], block["id"], zbd["id"]]
    assert await ids(user="bob") == [zbc["id"]]
    assert await ids(service="unified") == [zbc["id"]]
    assert await ids(item=ZB_D) == [block["id"], zbd["id"]]
    assert await ids(item=f"{ZB_D}#{B1}") == [block["id"], zbd["id"]]
    assert await ids(site="T2_CH_CERN") == [block["id"]]
    assert await ids(id=[zbd["id"]]) == [zbd["id"]]


async def test_the_owner_releases_a_lock_once(api: httpx.AsyncClient, clock: FakeClock) -> None:
    lock = await make(api)
    clock.now += 10
    released = await api.delete(f"/api/v1/locks/{lock['id']}", headers=ALICE)
    assert released.status_code == 200
    assert (released.json()["released"], released.json()["active"]) == (NOW + 10, False)
    again = await api.delete(f"/api/v1/locks/{lock['id']}", headers=ALICE)
    assert again.status_code == 409
    assert (await api.get("/api/v1/locks?active=true")).json() == []


async def test_only_the_owner_or_an_admin_releases_a_lock(api: httpx.AsyncClient) -> None:
    lock = await make(api)
    assert (await api.delete(f"/api/v1/locks/{lock['id']}")).status_code == 401
    refused = await api.delete(f"/api/v1/locks/{lock['id']}", headers=BOB)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert (await api.get(f"/api/v1/locks/{lock['id']}")).json()["active"] is True
    assert (await api.delete(f"/api/v1/locks/{lock['id']}", headers=ADMIN)).status_code == 200


async def test_an_unknown_lock_is_a_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/v1/locks/77")).status_code == 404
    assert (await api.delete("/api/v1/locks/77", headers=ALICE)).status_code == 404


async def test_the_routes_are_in_the_openapi_document(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/api/v1/openapi.json")).json()["paths"]
    for path in ("/api/v1/requests/copy", "/api/v1/requests/{request_id}/cancel", "/api/v1/locks"):
        assert path in paths


async def test_a_lock_id_out_of_range_is_a_400_not_a_500(api: httpx.AsyncClient) -> None:
    assert (await api.get(f"/api/v1/locks/{10**30}")).status_code == 400
    assert (await api.delete(f"/api/v1/locks/{2**63}", headers=ALICE)).status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/v1/locks"), ("OPTIONS", "/api/v1/locks/1"), ("PATCH", "/api/v1/locks/1")],
)
async def test_another_method_is_a_405(api: httpx.AsyncClient, method: str, path: str) -> None:
    response = await api.request(method, path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_a_405_lists_every_allowed_method(api: httpx.AsyncClient) -> None:
    response = await api.put("/api/v1/locks")
    assert response.headers["allow"] == "GET, POST"
