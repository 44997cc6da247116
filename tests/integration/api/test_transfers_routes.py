"""The transfer and deletion routes over a SQLite store holding queue rows written directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.api.routes.transfers import Changed, FileOpPage, HeldCountView, LinkRateView
from dynamo.server.service import InventoryService
from dynamo.store import MemoryInventoryStore, SqlInventoryStore
from fileops_data import (
    B1,
    B2,
    DOWN,
    DS,
    DST,
    NOW,
    SRC,
    add_batch_task,
    add_history,
    add_subscription,
    base_ops,
    lfn,
    subscription_rows,
)

API = "/api/v1"
OPERATOR = {"x-test-dn": "/CN=op", "x-test-grants": "operator:inventory"}
USER = {"x-test-dn": "/CN=someone", "x-test-grants": "user:inventory,operator:registry"}


@pytest.fixture
def store(tmp_path: Path) -> SqlInventoryStore:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/transfers.sqlite", upgrade=True)
    store.commit(base_ops(), store.load()[0])
    return store


def _client(service: InventoryService) -> httpx.AsyncClient:
    app = create_app(service, authenticator=HeaderTestAuthenticator())
    app.state.clock = lambda: float(NOW)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def api(store: SqlInventoryStore) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(InventoryService.load(store)) as client:
        yield client


def _valid(model: Any, body: Any) -> Any:
    TypeAdapter(model).validate_python(body)
    return body


async def test_current_transfers_page_with_their_task(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    ids = [add_subscription(store.engine, index=i) for i in range(3)]
    task = add_batch_task(store.engine, ids[1])
    first = await api.get(f"{API}/transfers", params={"limit": 2})
    assert first.status_code == 200
    page = _valid(FileOpPage, first.json())
    assert [e["id"] for e in page["items"]] == ids[:2]
    assert page["items"][1]["task_id"] == task
    assert page["items"][1]["source_site"] == SRC
    rest = await api.get(f"{API}/transfers", params={"limit": 2, "after": page["next"]})
    assert [e["id"] for e in rest.json()["items"]] == ids[2:]
    assert rest.json()["next"] is None


async def test_held_transfers_filter_by_reason_and_site(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    held = add_subscription(store.engine, index=0, status="held", hold_reason="no_source")
    add_subscription(store.engine, index=1, site=DOWN, status="held", hold_reason="no_source")
    add_subscription(store.engine, index=2, status="held", hold_reason="all_failed")
    answer = await api.get(
        f"{API}/transfers", params={"state": "held", "reason": "no_source", "site": "T2_DST"}
    )
    assert [e["id"] for e in _valid(FileOpPage, answer.json())["items"]] == [held]


async def test_held_transfers_are_counted_per_site_and_reason(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    for index in range(2):
        add_subscription(store.engine, index=index, status="held", hold_reason="no_source")
    answer = await api.get(f"{API}/transfers/held")
    assert _valid(list[HeldCountView], answer.json()) == [
        {"site": DST, "reason": "no_source", "files": 2, "bytes": 300}
    ]
    assert (await api.get(f"{API}/deletions/held")).json() == []


async def test_history_filters_by_dataset_since_and_status(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    add_history(store.engine, finished=NOW - 500, name=lfn(DS, B1, 0))
    add_history(store.engine, finished=NOW - 100, status="failed", exit_code=5, name=lfn(DS, B2, 0))
    add_history(store.engine, finished=NOW - 50)
    answer = await api.get(
        f"{API}/transfers",
        params={"state": "history", "dataset": DS, "since": NOW - 1000, "status": "failed"},
    )
    [entry] = _valid(FileOpPage, answer.json())["items"]
    assert (entry["lfn"], entry["exit_code"]) == (lfn(DS, B2, 0), 5)


async def test_deletions_are_listed_apart_from_transfers(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    deletion = add_subscription(store.engine, kind="deletion", site=SRC)
    add_subscription(store.engine, index=1)
    add_history(store.engine, kind="deletion", site=SRC, size=10, finished=NOW - 30)
    current = await api.get(f"{API}/deletions")
    assert [e["id"] for e in _valid(FileOpPage, current.json())["items"]] == [deletion]
    past = await api.get(f"{API}/deletions", params={"state": "history"})
    [entry] = past.json()["items"]
    assert entry["source_site"] is None
    rates = await api.get(f"{API}/deletions/rates", params={"window": 60})
    [rate] = _valid(list[LinkRateView], rates.json())
    assert (rate["site"], rate["files_done"], rate["files_per_hour"]) == (SRC, 1, 60.0)


async def test_transfer_rates_per_link_over_a_window(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    add_history(store.engine, size=3600, finished=NOW - 10)
    add_history(store.engine, size=3600, finished=NOW - 7200)
    answer = await api.get(f"{API}/transfers/rates")
    assert _valid(list[LinkRateView], answer.json()) == [
        {
            "source_site": SRC,
            "site": DST,
            "files_done": 1,
            "files_failed": 0,
            "bytes_done": 3600,
            "bytes_per_second": 1.0,
            "files_per_hour": 1.0,
            "window": 3600,
        }
    ]


async def test_an_operator_releases_and_cancels(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    held = add_subscription(store.engine, index=0, status="held", hold_reason="all_failed")
    pending = add_subscription(store.engine, index=1, status="inbatch")
    released = await api.post(
        f"{API}/transfers/release", json={"site": DST, "reason": "all_failed"}, headers=OPERATOR
    )
    assert released.status_code == 200
    assert _valid(Changed, released.json()) == {"count": 1}
    cancelled = await api.post(f"{API}/transfers/cancel", json={"ids": [pending]}, headers=OPERATOR)
    assert cancelled.json() == {"count": 1}
    assert subscription_rows(store.engine, ("id", "status")) == {
        (held, "new"),
        (pending, "cancelled"),
    }
    none = await api.post(f"{API}/deletions/cancel", json={"ids": [held]}, headers=OPERATOR)
    assert none.json() == {"count": 0}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "unauthenticated"), (USER, 403, "forbidden")],
)
async def test_release_and_cancel_need_the_operator_role_on_the_inventory(
    api: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    for action in ("release", "cancel"):
        answer = await api.post(f"{API}/transfers/{action}", json={"ids": [1]}, headers=headers)
        assert answer.status_code == status
        assert answer.json()["error"]["code"] == code


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("transfers/release", {"reason": "no_source"}, "select subscriptions"),
        ("transfers/cancel", {}, "select subscriptions"),
        ("transfers/cancel", {"ids": [0]}, "ids.0"),
        ("transfers/release", {"site": "x", "color": 1}, "color"),
    ],
)
async def test_bad_selections_are_400(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], message: str
) -> None:
    answer = await api.post(f"{API}/{path}", json=body, headers=OPERATOR)
    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [{"state": "later"}, {"limit": 0}, {"status": "ok"}, {"reason": "tired"}, {"after": -1}],
)
async def test_bad_listing_parameters_are_400(
    api: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    answer = await api.get(f"{API}/transfers", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"


async def test_a_server_without_database_has_no_queue() -> None:
    store = MemoryInventoryStore()
    async with _client(InventoryService.load(store)) as client:
        answer = await client.get(f"{API}/transfers")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


async def test_routes_are_in_the_openapi_document(api: httpx.AsyncClient) -> None:
    paths = (await api.get(f"{API}/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/transfers",
        "/api/v1/transfers/rates",
        "/api/v1/transfers/release",
        "/api/v1/transfers/cancel",
        "/api/v1/deletions",
        "/api/v1/deletions/rates",
        "/api/v1/transfers/held",
        "/api/v1/deletions/held",
    ):
        assert path in paths
