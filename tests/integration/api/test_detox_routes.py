"""The Detox history routes over a SQLite store holding cycles written as Detox writes them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import TypeAdapter

from detox_history_data import PHYSICS_TEXT, WrittenCycle, write_cycle
from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.api.routes import detox as detox_routes
from dynamo.api.routes.detox import (
    CyclePage,
    CycleSiteView,
    CycleView,
    DecisionPage,
    DecisionView,
    DeletionPage,
    PolicyView,
)
from dynamo.bench.serving import ThreadServer
from dynamo.server.service import InventoryService
from dynamo.store import MemoryInventoryStore, SqlInventoryStore

API = "/api/v1/detox"


@pytest.fixture
def store(tmp_path: Path) -> SqlInventoryStore:
    return SqlInventoryStore.open(f"sqlite:///{tmp_path}/detox.sqlite", upgrade=True)


@pytest.fixture
def physics(store: SqlInventoryStore) -> WrittenCycle:
    return write_cycle(store.engine)


def _client(service: InventoryService) -> httpx.AsyncClient:
    app = create_app(service, authenticator=HeaderTestAuthenticator())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def api(store: SqlInventoryStore) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(InventoryService.load(store)) as client:
        yield client


def _valid(model: Any, body: Any) -> Any:
    """``body`` after checking it against the route's documented response model."""
    TypeAdapter(model).validate_python(body)
    return body


def _decision(row: dict[str, Any], written: WrittenCycle) -> dict[str, Any]:
    line = next(x for x in written.lines if x["line_id"] == row["line_id"])
    fields = ("id", "site", "dataset", "decision", "line_id", "size", "num_blocks")
    return {
        **{k: row[k] for k in fields},
        "line_number": line["line_number"],
        "line_text": line["text"],
    }


# ---------------------------------------------------------------------- cycles


async def test_cycles_are_listed_newest_first_in_pages_that_follow_next(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    ids = [write_cycle(store.engine, started=1_700_000_000 + i, seed=i).id for i in range(5)]

    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        answer = await api.get(f"{API}/cycles", params=params)
        assert answer.status_code == 200
        page = _valid(CyclePage, answer.json())
        seen.extend(c["id"] for c in page["items"])
        if page["next"] is None:
            break
        params["before"] = page["next"]

    assert seen == ids[::-1]


async def test_cycles_filter_by_partition_and_status(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    committed = write_cycle(store.engine).id
    test = write_cycle(store.engine, mode="test", status="test").id
    other = write_cycle(store.engine, partition="DataOps").id

    async def ids(**params: str) -> list[int]:
        answer = await api.get(f"{API}/cycles", params=params)
        return [c["id"] for c in answer.json()["items"]]

    assert await ids(partition="Physics") == [test, committed]
    assert await ids(status="test") == [test]
    assert await ids(partition="DataOps", status="committed") == [other]
    assert await ids(partition="physics") == []


async def test_one_cycle_reads_back_as_written_by_anyone(
    api: httpx.AsyncClient, physics: WrittenCycle
) -> None:
    answer = await api.get(f"{API}/cycles/{physics.id}")

    assert answer.status_code == 200
    cycle = _valid(CycleView, answer.json())
    assert cycle["id"] == physics.id
    assert cycle["partition"] == "Physics"
    assert (cycle["mode"], cycle["status"], cycle["log_seq"]) == ("run", "committed", 42)
    assert cycle["policy_hash"] == physics.cycle["policy_hash"]
    assert cycle["summary"] == orjson.loads(physics.cycle["summary"])
    assert "policy_text" not in cycle


async def test_the_status_shows_the_newest_cycle_of_every_partition_and_its_policy_error(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    write_cycle(store.engine)
    error = "Physics.txt:7: unknown variable 'site.occupancyy'; the last good policy is in force"
    newest = write_cycle(store.engine, policy_error=error).id
    data_ops = write_cycle(store.engine, partition="DataOps").id

    answer = await api.get(f"{API}/status")

    assert answer.status_code == 200
    latest = _valid(list[CycleView], answer.json())
    assert [(c["partition"], c["id"], c["policy_error"]) for c in latest] == [
        ("DataOps", data_ops, None),
        ("Physics", newest, error),
    ]


async def test_the_status_without_any_cycle_is_empty(api: httpx.AsyncClient) -> None:
    answer = await api.get(f"{API}/status")
    assert (answer.status_code, answer.json()) == (200, [])


# ---------------------------------------------------------------------- sites, policy


async def test_the_sites_of_a_cycle_come_by_name(
    api: httpx.AsyncClient, physics: WrittenCycle
) -> None:
    answer = await api.get(f"{API}/cycles/{physics.id}/sites")

    sites = _valid(list[CycleSiteView], answer.json())
    assert sites == sorted(physics.sites, key=lambda s: s["site"])


async def test_the_policy_comes_as_json_with_its_lines(
    api: httpx.AsyncClient, physics: WrittenCycle
) -> None:
    answer = await api.get(f"{API}/cycles/{physics.id}/policy")

    assert answer.headers["content-type"] == "application/json"
    policy = _valid(PolicyView, answer.json())
    assert policy["text"] == PHYSICS_TEXT
    assert policy["lines"] == physics.lines
    assert policy["lines"][0]["line_id"] == -1


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"accept": "text/plain"}, {}),
        ({"accept": "text/plain, application/json;q=0.5"}, {}),
        ({"accept": "application/json"}, {"format": "text"}),
        ({"accept": "text/*"}, {}),
    ],
)
async def test_the_policy_comes_as_text_when_asked(
    api: httpx.AsyncClient,
    physics: WrittenCycle,
    headers: dict[str, str],
    params: dict[str, str],
) -> None:
    answer = await api.get(f"{API}/cycles/{physics.id}/policy", headers=headers, params=params)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == PHYSICS_TEXT
    assert answer.headers["x-policy-hash"] == physics.cycle["policy_hash"]


@pytest.mark.parametrize(
    "accept",
    [
        "*/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/json, text/plain",
        "text/plain;q=0.2, application/json",
    ],
)
async def test_the_policy_stays_json_unless_text_is_preferred(
    api: httpx.AsyncClient, physics: WrittenCycle, accept: str
) -> None:
    answer = await api.get(f"{API}/cycles/{physics.id}/policy", headers={"accept": accept})
    assert answer.headers["content-type"] == "application/json"


# ---------------------------------------------------------------------- decisions


async def test_decisions_page_through_the_whole_cycle_with_their_lines(
    api: httpx.AsyncClient, physics: WrittenCycle, store: SqlInventoryStore
) -> None:
    write_cycle(store.engine, seed=9)
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        answer = await api.get(f"{API}/cycles/{physics.id}/decisions", params=params)
        page = _valid(DecisionPage, answer.json())
        seen.extend(page["items"])
        if page["next"] is None:
            break
        params["after"] = page["next"]

    assert seen == [_decision(row, physics) for row in physics.decisions]


@pytest.mark.parametrize(
    ("params", "matches"),
    [
        ({"site": "T2_US_MIT"}, lambda d: d["site"] == "T2_US_MIT"),
        ({"site": "T1_*"}, lambda d: d["site"].startswith("T1_")),
        ({"decision": "delete"}, lambda d: d["decision"] == "delete"),
        (
            {"site": "T2_*", "decision": "protect"},
            lambda d: d["site"].startswith("T2_") and d["decision"] == "protect",
        ),
        ({"dataset": "*/MINIAODSIM"}, lambda d: d["dataset"].endswith("/MINIAODSIM")),
        ({"dataset": "*/miniaodsim"}, lambda d: False),
    ],
)
async def test_decisions_filter_by_site_dataset_and_decision(
    api: httpx.AsyncClient, physics: WrittenCycle, params: dict[str, str], matches: Any
) -> None:
    answer = await api.get(
        f"{API}/cycles/{physics.id}/decisions", params={**params, "limit": 10_000}
    )

    assert [d["id"] for d in answer.json()["items"]] == [
        d["id"] for d in physics.decisions if matches(d)
    ]


async def test_an_exact_dataset_finds_its_decisions(
    api: httpx.AsyncClient, physics: WrittenCycle
) -> None:
    name = physics.decisions[5]["dataset"]

    answer = await api.get(f"{API}/cycles/{physics.id}/decisions", params={"dataset": name})

    assert answer.json()["items"]
    assert {d["dataset"] for d in answer.json()["items"]} == {name}


def _ndjson(text: str) -> list[dict[str, Any]]:
    rows = [orjson.loads(line) for line in text.splitlines()]
    for row in rows:
        DecisionView.model_validate(row)
    return rows


@pytest.mark.parametrize(
    ("headers", "params"),
    [({"accept": "application/x-ndjson"}, {}), ({}, {"format": "ndjson"})],
)
async def test_decisions_stream_as_ndjson_in_chunks(
    api: httpx.AsyncClient,
    physics: WrittenCycle,
    headers: dict[str, str],
    params: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detox_routes, "STREAM_CHUNK", 7)

    answer = await api.get(
        f"{API}/cycles/{physics.id}/decisions", headers=headers, params={**params, "limit": 3}
    )

    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    assert _ndjson(answer.text) == [_decision(row, physics) for row in physics.decisions]


async def test_an_ndjson_stream_takes_the_filters_and_the_cursor(
    api: httpx.AsyncClient, physics: WrittenCycle
) -> None:
    start = physics.decisions[10]["id"]
    answer = await api.get(
        f"{API}/cycles/{physics.id}/decisions",
        params={"format": "ndjson", "decision": "keep", "after": start},
    )

    assert [d["id"] for d in _ndjson(answer.text)] == [
        d["id"] for d in physics.decisions if d["decision"] == "keep" and d["id"] > start
    ]


async def test_an_ndjson_stream_of_an_empty_cycle_is_empty(
    api: httpx.AsyncClient, store: SqlInventoryStore
) -> None:
    empty = write_cycle(store.engine, sites=())

    answer = await api.get(f"{API}/cycles/{empty.id}/decisions", params={"format": "ndjson"})

    assert (answer.status_code, answer.text) == (200, "")


# ---------------------------------------------------------------------- deletions


async def test_deletions_page_in_id_order(api: httpx.AsyncClient, physics: WrittenCycle) -> None:
    first = _valid(
        DeletionPage,
        (await api.get(f"{API}/cycles/{physics.id}/deletions", params={"limit": 4})).json(),
    )
    rest = (
        await api.get(
            f"{API}/cycles/{physics.id}/deletions", params={"limit": 1000, "after": first["next"]}
        )
    ).json()

    expected = [{k: v for k, v in row.items() if k != "cycle_id"} for row in physics.deletions]
    assert first["items"] + rest["items"] == expected
    assert rest["next"] is None
    assert {d["status"] for d in expected} == {"new"}


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "suffix", ["", "/sites", "/policy", "/decisions", "/decisions?format=ndjson", "/deletions"]
)
async def test_an_unknown_cycle_is_a_404_on_every_route(
    api: httpx.AsyncClient, physics: WrittenCycle, suffix: str
) -> None:
    answer = await api.get(f"{API}/cycles/{physics.id + 1}{suffix}")

    assert answer.status_code == 404
    assert answer.json()["error"] == {
        "code": "not_found",
        "message": f"no Detox cycle with id {physics.id + 1}",
    }


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/cycles", {"status": "done"}, "query.status"),
        ("/cycles", {"limit": 0}, "query.limit"),
        ("/cycles", {"limit": 1001}, "query.limit"),
        ("/cycles", {"before": "yesterday"}, "query.before"),
        ("/cycles", {"before": 0}, "query.before"),
        ("/cycles/abc", {}, "path.cycle_id"),
        ("/cycles/0", {}, "path.cycle_id"),
        ("/cycles/9223372036854775808/sites", {}, "path.cycle_id"),
        ("/cycles/1/decisions", {"decision": "dismiss"}, "query.decision"),
        ("/cycles/1/decisions", {"after": -1}, "query.after"),
        ("/cycles/1/decisions", {"limit": 100_001}, "query.limit"),
        ("/cycles/1/decisions", {"format": "csv"}, "query.format"),
        ("/cycles/1/policy", {"format": "yaml"}, "query.format"),
        ("/cycles/1/deletions", {"after": "x"}, "query.after"),
    ],
)
async def test_bad_query_values_are_400s_naming_the_field(
    api: httpx.AsyncClient, path: str, params: dict[str, Any], where: str
) -> None:
    answer = await api.get(API + path, params=params)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith(where + ":")


async def test_a_server_whose_inventory_is_not_in_a_database_has_no_history() -> None:
    async with _client(InventoryService.load(MemoryInventoryStore())) as client:
        answer = await client.get(f"{API}/status")

    assert answer.status_code == 404
    assert "keeps no Detox history" in answer.json()["error"]["message"]


# ---------------------------------------------------------------------- the event loop


async def test_a_slow_history_read_does_not_hold_up_other_requests(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    reading, release = threading.Event(), threading.Event()

    def slow_latest_cycles(engine: object) -> list[object]:
        reading.set()
        release.wait(10)  # blocks its worker thread, never the loop
        return []

    monkeypatch.setattr(detox_routes, "latest_cycles", slow_latest_cycles)
    slow = asyncio.create_task(api.get(f"{API}/status"))
    assert await asyncio.to_thread(reading.wait, 10)

    meanwhile = await asyncio.wait_for(api.get("/api/v1/status"), 5)

    assert meanwhile.status_code == 200
    assert not slow.done()
    release.set()
    assert (await slow).json() == []


def test_a_real_server_streams_every_decision_while_serving_others(
    store: SqlInventoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = write_cycle(store.engine, datasets_per_site=400)
    monkeypatch.setattr(detox_routes, "STREAM_CHUNK", 100)
    app = create_app(InventoryService.load(store))

    path, ndjson = f"{API}/cycles/{big.id}/decisions", {"accept": "application/x-ndjson"}
    with (
        ThreadServer(app) as url,
        httpx.Client(base_url=url, timeout=30) as client,
        client.stream("GET", path, headers=ndjson) as stream,
    ):
        lines = stream.iter_lines()
        first = orjson.loads(next(lines))
        assert client.get("/api/v1/status").status_code == 200  # mid-stream
        rest = [orjson.loads(line) for line in lines if line]

    assert [first["id"], *(d["id"] for d in rest)] == [d["id"] for d in big.decisions]
    assert len(big.decisions) == 1600
