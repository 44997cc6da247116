from __future__ import annotations

import httpx
import orjson
import pytest

from dynamo.model import ChangeSet, DeleteDatasetReplica, UpsertFile
from dynamo.server.service import InventoryService

from ..model.conftest import BLOCK, BLOCK2, DATASET, TB


async def test_dataset_replicas_are_filtered_by_site_and_group(client: httpx.AsyncClient) -> None:
    found = (await client.get("/api/v1/replicas", params={"site": "T2_*"})).json()
    assert found["total"] == 1
    replica = found["items"][0]
    assert (replica["dataset"], replica["site"], replica["group"]) == (
        DATASET,
        "T2_US_MIT",
        "AnalysisOps",
    )
    assert replica["is_complete"] is False
    none = (await client.get("/api/v1/replicas", params={"group": "DataOps"})).json()
    assert none["total"] == 0


@pytest.mark.parametrize(
    ("complete", "blocks"), [(None, {BLOCK, BLOCK2}), (True, {BLOCK}), (False, {BLOCK2})]
)
async def test_block_replicas_are_filtered_by_completeness(
    client: httpx.AsyncClient, complete: bool | None, blocks: set[str]
) -> None:
    params = {"dataset": DATASET} | (
        {} if complete is None else {"complete": str(complete).lower()}
    )
    found = (await client.get("/api/v1/blockreplicas", params=params)).json()
    assert {r["block"] for r in found["items"]} == blocks


async def test_block_replicas_stream_as_json_lines(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/blockreplicas", params={"site": "T2_US_MIT", "format": "ndjson"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert {row["block"] for row in rows} == {BLOCK, BLOCK2}


async def test_files_of_a_block_are_read_from_the_store(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    lfn = "/store/data/Run2018D/ZeroBias/AOD/PromptReco-v2/000/320/500/00000/A0.root"
    await service.commit(
        ChangeSet.of([UpsertFile(lfn=lfn, dataset=DATASET, block=BLOCK, size=123)])
    )
    files = (await client.get("/api/v1/files", params={"dataset": DATASET, "block": BLOCK})).json()
    assert files == [{"lfn": lfn, "size": 123, "adler32": ""}]
    missing = await client.get("/api/v1/files", params={"dataset": DATASET, "block": "nope"})
    assert missing.status_code == 404


async def test_size_statistics_by_tier_and_by_site(client: httpx.AsyncClient) -> None:
    by_tier = (await client.get("/api/v1/stats/size", params={"by": "tier"})).json()
    assert by_tier == [{"key": "AOD", "bytes": TB + TB // 2, "count": 1}]
    by_site = (await client.get("/api/v1/stats/size", params={"by": "site"})).json()
    assert by_site == [{"key": "T2_US_MIT", "bytes": TB + TB // 4, "count": 2}]
    bad = await client.get("/api/v1/stats/size", params={"by": "colour"})
    assert bad.status_code == 400


async def test_a_listing_served_again_follows_every_change_of_the_inventory(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    params = {"site": "T2_US_MIT"}
    first = await client.get("/api/v1/replicas", params=params)
    again = await client.get("/api/v1/replicas", params=params)
    assert first.content == again.content
    assert first.json()["total"] == 1
    blocks = (await client.get("/api/v1/blockreplicas", params=params)).json()
    assert blocks["total"] == 2
    await service.commit(ChangeSet.of([DeleteDatasetReplica(dataset=DATASET, site="T2_US_MIT")]))
    assert (await client.get("/api/v1/replicas", params=params)).json()["total"] == 0
    assert (await client.get("/api/v1/blockreplicas", params=params)).json()["total"] == 0
