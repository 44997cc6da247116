from __future__ import annotations

import httpx

from ..model.conftest import BLOCK, DATASET, TB


async def test_status_reports_the_log_seq_and_the_counts(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/status")
    assert response.status_code == 200
    body = response.json()
    assert body["log_seq"] == 1
    assert body["counts"]["datasets"] == 1
    assert body["caller_dn"] is None


async def test_a_dataset_is_found_by_its_name_in_the_path(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/datasets/{DATASET}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == DATASET
    assert body["size"] == TB + TB // 2
    assert body["sites"] == ["T2_US_MIT"]


async def test_the_blocks_of_a_dataset_are_listed(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/datasets/{DATASET}/blocks")
    assert response.status_code == 200
    assert BLOCK in {block["name"] for block in response.json()}


async def test_datasets_are_listed_by_glob_and_paged(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/datasets", params={"name": "/ZeroBias/*", "limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert [d["name"] for d in body["items"]] == [DATASET]
    assert body["next"] is None
    empty = await client.get("/api/v1/datasets", params={"name": "/Nothing/*"})
    assert empty.json() == {"items": [], "next": None}


async def test_an_unknown_dataset_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/datasets//No/Such/RAW")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "/No/Such/RAW" in response.json()["error"]["message"]


async def test_a_bad_parameter_is_a_json_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/datasets", params={"limit": 0})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert "limit" in error["message"]


async def test_sites_show_quota_usage_and_occupancy_per_partition(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/sites/T2_US_MIT")
    assert response.status_code == 200
    usage = {p["partition"]: p for p in response.json()["partitions"]}
    assert usage["AnalysisOps"]["quota"] == 2 * TB
    assert usage["AnalysisOps"]["physical_bytes"] == TB
    assert usage["AnalysisOps"]["occupancy"] == 0.5


async def test_partitions_and_groups_are_listed(client: httpx.AsyncClient) -> None:
    partitions = (await client.get("/api/v1/partitions")).json()
    assert [p["name"] for p in partitions][-1] == "Physics"
    groups = {g["name"] for g in (await client.get("/api/v1/groups")).json()}
    assert groups == {None, "AnalysisOps", "DataOps"}


async def test_the_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/datasets/{name}" in response.json()["paths"]


async def test_an_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
