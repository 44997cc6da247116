"""The popularity routes over a SQLite store: feeding records (a role on ``popularity``) and
reading one dataset's accesses, with 400/401/403/404 in the JSON error envelope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from typer.testing import CliRunner

from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.api.security import Principal, Role, Target
from dynamo.bench.serving import ThreadServer
from dynamo.cli.main import app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from popularity_data import DATASET_NAMES, MINIAOD, TODAY
from unit.model.conftest import DATASET, base_ops

DAY = 86_400
FEEDER = {"x-test-dn": "/DC=ch/DC=cern/CN=PopDB feeder", "x-test-grants": "operator:popularity"}
ADMIN = {"x-test-dn": "/DC=ch/DC=cern/CN=Admin", "x-test-grants": "admin:popularity"}
INVENTORY_OPERATOR = {"x-test-dn": "/DC=ch/DC=cern/CN=Op", "x-test-grants": "operator:inventory"}
ACCESSES = "/api/v1/popularity/accesses"


def record(
    dataset: str = DATASET, site: str = "T2_US_MIT", date: object = "2020-02-13", n: int = 1
) -> dict[str, Any]:
    return {"dataset": dataset, "site": site, "date": date, "num_accesses": n, "cpu_hours": 0.5}


def dataset_url(name: str, days: int | None = None) -> str:
    suffix = "" if days is None else f"?days={days}"
    return f"/api/v1/popularity/datasets/{name}{suffix}"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/api.sqlite", upgrade=True)
    store.commit(
        base_ops(), InventoryService.load(store, partition_compiler=toy_compiler).inventory
    )
    app = create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=HeaderTestAuthenticator(),
    )
    app.state.clock = lambda: TODAY + 12 * 3600
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    store.close()


async def test_posted_records_are_counted_and_read_back_per_site(
    client: httpx.AsyncClient,
) -> None:
    body = [
        record(n=10),
        record(site="T2_CH_CERN", date=TODAY - 3 * DAY, n=5),
        record(date="2020-02-10", n=2),
        record(MINIAOD, n=7),
    ]
    response = await client.post(ACCESSES, json=body, headers=FEEDER)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "records": 4,
        "datasets": 2,
        "sites": 2,
        "first_day": TODAY - 3 * DAY,
        "last_day": TODAY,
        "unknown_datasets": 1,
    }
    read = (await client.get(dataset_url(DATASET))).json()
    assert read == {
        "dataset": DATASET,
        "days": 730,
        "since": TODAY - 730 * DAY,
        "num_accesses": 17,
        "cpu_hours": 1.5,
        "last_access": TODAY,
        "in_inventory": True,
        "sites": [
            {
                "site": "T2_CH_CERN",
                "num_accesses": 5,
                "cpu_hours": 0.5,
                "last_access": TODAY - 3 * DAY,
            },
            {"site": "T2_US_MIT", "num_accesses": 12, "cpu_hours": 1.0, "last_access": TODAY},
        ],
    }
    unknown = (await client.get(dataset_url(MINIAOD))).json()
    assert (unknown["num_accesses"], unknown["in_inventory"]) == (7, False)


async def test_a_day_sent_again_replaces_its_counts(client: httpx.AsyncClient) -> None:
    await client.post(ACCESSES, json={"records": [record(n=10)]}, headers=FEEDER)
    response = await client.post(ACCESSES, json={"records": [record(n=3)]}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert (await client.get(dataset_url(DATASET))).json()["num_accesses"] == 3


async def test_the_window_of_a_read_is_given_in_days(client: httpx.AsyncClient) -> None:
    body = [record(n=1), record(date=TODAY - 40 * DAY, n=100)]
    await client.post(ACCESSES, json=body, headers=FEEDER)
    month = (await client.get(dataset_url(DATASET, days=30))).json()
    assert (month["num_accesses"], month["since"]) == (1, TODAY - 30 * DAY)


async def test_a_dataset_without_records_reads_as_never_accessed(
    client: httpx.AsyncClient,
) -> None:
    read = (await client.get(dataset_url(DATASET))).json()
    assert (read["num_accesses"], read["last_access"], read["sites"]) == (0, None, [])


async def test_a_dataset_neither_held_nor_recorded_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    for name in (MINIAOD, "no such dataset"):
        response = await client.get(dataset_url(name))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "unauthenticated"), (INVENTORY_OPERATOR, 403, "forbidden")],
)
async def test_feeding_records_needs_the_operator_role_on_popularity(
    client: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = await client.post(ACCESSES, json=[record()], headers=headers)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert "popularity" in error["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ([record(), record(date="2020-02-30")], "records[1].date: '2020-02-30'"),
        ([record(dataset=f"{DATASET}\x00")], "records[0].dataset"),
        ([record(n=-1)], "num_accesses"),
        ([{**record(), "extra": 1}], "extra"),
        ({"records": [record()], "more": []}, "more"),
        ([{**record(), "cpu_hours": "lots"}], "cpu_hours"),
        ("records", "body"),
    ],
)
async def test_a_bad_record_is_a_400_naming_it_and_writes_nothing(
    client: httpx.AsyncClient, body: object, where: str
) -> None:
    response = await client.post(ACCESSES, json=body, headers=FEEDER)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert where in str(error)
    assert (await client.get(dataset_url(DATASET))).json()["num_accesses"] == 0


class PopularityFeeder:
    """Test double: every caller is an operator on popularity (nothing else)."""

    async def principal(self, request: Request) -> Principal:
        return Principal(dn="/CN=feeder", grants=frozenset({(Role.OPERATOR, Target.POPULARITY)}))


def test_the_cli_checks_the_file_then_sends_it_in_batches(tmp_path: Path) -> None:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/cli.sqlite", upgrade=True)
    store.commit(
        base_ops(), InventoryService.load(store, partition_compiler=toy_compiler).inventory
    )
    api = create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=PopularityFeeder(),
    )
    api.state.clock = lambda: TODAY
    names = [DATASET, *DATASET_NAMES[:99]]
    path = tmp_path / "accesses.csv"
    path.write_text(
        "dataset,site,date,num_accesses\n"
        + "".join(f"{name},T2_US_MIT,{day},3\n" for name in names for day in ("2020-02-12", TODAY))
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text() + f"{DATASET},T2_US_MIT,someday,1\n")
    with ThreadServer(api) as url:
        refused = CliRunner().invoke(app, ["popularity", "import", str(bad), "--server", url])
        assert refused.exit_code == 2
        assert f"{bad}:202: date: 'someday'" in refused.output
        arguments = ["popularity", "import", str(path), "--server", url, "--batch", "30", "--json"]
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert (summary["target"], summary["records"], summary["datasets"]) == ("server", 200, 100)
        assert summary["unknown_datasets"] == 99
        read = httpx.get(f"{url}/api/v1/popularity/datasets/{DATASET}").json()
        assert (read["num_accesses"], read["last_access"]) == (6, TODAY)
    store.close()
