from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from doubles import toy_compiler
from dynamo.model import describe
from dynamo.server.service import InventoryService

from ..model.conftest import DATASET
from .conftest import OPERATOR, READER

NEW = "/SingleMuon/Run2018A-17Sep2018-v2/MINIAOD"
NEW_BLOCK = "7a1c3a0e-1f2b-11e9-9a8b-001e67abf228"


def lfn(n: int) -> str:
    return f"/store/data/Run2018A/SingleMuon/MINIAOD/17Sep2018-v2/100000/{n:08X}-0000.root"


def injection(files: range = range(3)) -> dict[str, Any]:
    return {
        "datasets": [
            {
                "name": NEW,
                "status": "VALID",
                "data_type": "DATA",
                "blocks": [
                    {
                        "name": NEW_BLOCK,
                        "files": [
                            {"lfn": lfn(n), "size": 1000 + n, "adler32": "0a1b2c3d"} for n in files
                        ],
                    }
                ],
            }
        ],
        "dataset_replicas": [
            {
                "dataset": NEW,
                "site": "T2_US_MIT",
                "group": "AnalysisOps",
                "block_replicas": [{"block": NEW_BLOCK}],
            }
        ],
    }


async def test_an_injection_is_visible_to_the_next_read(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/inject", json=injection(), headers=OPERATOR)
    assert response.status_code == 200, response.text
    assert response.json()["operations"] > 0
    dataset = (await client.get(f"/api/v1/datasets/{NEW}")).json()
    assert (dataset["size"], dataset["num_files"], dataset["sites"]) == (3003, 3, ["T2_US_MIT"])
    files = (await client.get("/api/v1/files", params={"dataset": NEW, "block": NEW_BLOCK})).json()
    assert [f["lfn"] for f in files] == [lfn(0), lfn(1), lfn(2)]


async def test_an_injection_survives_a_restart(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    assert (
        await client.post("/api/v1/inject", json=injection(), headers=OPERATOR)
    ).status_code == 200
    reloaded = InventoryService.load(service.store, partition_compiler=toy_compiler)
    assert describe(reloaded.inventory) == describe(service.inventory)


async def test_injecting_the_same_files_twice_changes_nothing(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    await client.post("/api/v1/inject", json=injection(), headers=OPERATOR)
    before = describe(service.inventory)
    assert (
        await client.post("/api/v1/inject", json=injection(), headers=OPERATOR)
    ).status_code == 200
    assert describe(service.inventory) == before


async def test_files_added_to_an_existing_block_grow_it(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/inject", json=injection(range(3)), headers=OPERATOR)
    await client.post("/api/v1/inject", json=injection(range(2, 5)), headers=OPERATOR)
    block = (await client.get(f"/api/v1/datasets/{NEW}/blocks")).json()[0]
    assert (block["num_files"], block["size"]) == (5, sum(1000 + n for n in range(5)))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"datasets": [{"name": "has space/x"}]}, "body.datasets.0.name"),
        ({"datasets": [{"name": NEW, "status": "SHINY"}]}, "body.datasets.0.status"),
        (
            {
                "datasets": [
                    {"name": NEW, "blocks": [{"name": "b", "files": [{"lfn": "/x", "size": -1}]}]}
                ]
            },
            "size",
        ),
        (
            {
                "datasets": [
                    {
                        "name": NEW,
                        "blocks": [
                            {"name": "b", "files": [{"lfn": "/x", "size": 1, "adler32": "xyz"}]}
                        ],
                    }
                ]
            },
            "adler32",
        ),
        ({"colour": []}, "body.colour"),
    ],
)
async def test_a_malformed_injection_is_a_400_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, service: InventoryService, body: dict[str, Any], where: str
) -> None:
    before = describe(service.inventory)
    response = await client.post("/api/v1/inject", json=body, headers=OPERATOR)
    assert response.status_code == 400
    assert where in response.json()["error"]["message"]
    assert describe(service.inventory) == before


async def test_an_injection_referring_to_an_unknown_site_is_rejected_whole(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    before, seq = describe(service.inventory), service.seq
    body = injection()
    body["dataset_replicas"][0]["site"] = "T2_XX_Nowhere"
    response = await client.post("/api/v1/inject", json=body, headers=OPERATOR)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_changeset"
    assert "unknown site 'T2_XX_Nowhere'" in response.json()["error"]["message"]
    assert (describe(service.inventory), service.seq) == (before, seq)


async def test_a_file_already_in_another_block_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    first = await client.post("/api/v1/inject", json=injection(), headers=OPERATOR)
    assert first.status_code == 200, first.text
    before, seq = describe(service.inventory), service.seq
    body = injection()
    body["datasets"][0]["blocks"][0]["name"] = "another-block"
    body["dataset_replicas"][0]["block_replicas"] = [{"block": "another-block"}]
    response = await client.post("/api/v1/inject", json=body, headers=OPERATOR)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert f"file {lfn(0)!r} is registered to another block" in error["message"]
    assert (describe(service.inventory), service.seq) == (before, seq)


async def test_injection_without_an_identity_is_401_and_without_the_role_403(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.post("/api/v1/inject", json=injection())
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    reader = await client.post("/api/v1/inject", json=injection(), headers=READER)
    assert reader.status_code == 403
    assert "operator" in reader.json()["error"]["message"]


async def test_a_new_block_gets_an_empty_replica_at_every_growing_replica(
    client: httpx.AsyncClient,
) -> None:
    body = injection()
    body["dataset_replicas"] = [
        {"dataset": NEW, "site": "T2_US_MIT", "group": "DataOps", "growing": True}
    ]
    assert (await client.post("/api/v1/inject", json=body, headers=OPERATOR)).status_code == 200
    replicas = (await client.get("/api/v1/blockreplicas", params={"dataset": NEW})).json()["items"]
    assert [(r["site"], r["group"], r["size"], r["is_complete"]) for r in replicas] == [
        ("T2_US_MIT", "DataOps", 0, False)
    ]


async def test_invalidating_files_shrinks_their_block(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/inject", json=injection(range(3)), headers=OPERATOR)
    body = {"files": [{"dataset": NEW, "block": NEW_BLOCK, "lfn": lfn(0)}]}
    assert (await client.post("/api/v1/invalidate", json=body, headers=OPERATOR)).status_code == 200
    block = (await client.get(f"/api/v1/datasets/{NEW}/blocks")).json()[0]
    assert (block["num_files"], block["size"]) == (2, 1001 + 1002)
    # the file is gone everywhere: the replica that held the whole block still does
    replicas = (await client.get("/api/v1/blockreplicas", params={"dataset": NEW})).json()
    assert [(r["site"], r["size"], r["is_complete"]) for r in replicas["items"]] == [
        ("T2_US_MIT", 1001 + 1002, True)
    ]


async def test_invalidating_a_dataset_removes_it_and_its_replicas(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/invalidate", json={"datasets": [DATASET]}, headers=OPERATOR
    )
    assert response.status_code == 200
    assert (await client.get(f"/api/v1/datasets/{DATASET}")).status_code == 404
    assert (await client.get("/api/v1/replicas")).json()["total"] == 0


async def test_a_release_is_given_as_cycle_major_minor_suffix(client: httpx.AsyncClient) -> None:
    body = injection()
    body["datasets"][0]["software_version"] = "10_6_4_patch1"
    assert (await client.post("/api/v1/inject", json=body, headers=OPERATOR)).status_code == 200
    assert (await client.get(f"/api/v1/datasets/{NEW}")).json()[
        "software_version"
    ] == "10_6_4_patch1"
    body["datasets"][0]["software_version"] = "10_x_4"
    bad = await client.post("/api/v1/inject", json=body, headers=OPERATOR)
    assert bad.status_code == 400
    assert "software_version" in bad.json()["error"]["message"]


def _new_dataset(n: int, site: str = "T2_US_MIT") -> dict[str, Any]:
    name = f"/Concurrent/Inject{n}-v1/RAW"
    block = {"name": f"b{n}", "files": [{"lfn": f"/store/concurrent/{n}.root", "size": n + 1}]}
    return {
        "datasets": [{"name": name, "blocks": [block]}],
        "dataset_replicas": [{"dataset": name, "site": site, "group": "AnalysisOps"}],
    }


async def test_concurrent_injections_commit_together_and_an_invalid_one_fails_alone(
    client: httpx.AsyncClient, service: InventoryService
) -> None:
    """Group commit through the route: every valid injection once, with its own seq; the two
    that add files to one block are planned one after the other, so the block holds both."""
    start = service.seq
    groups: list[int] = []
    write_group = service.store.write_group

    def counted(entries: Any, inventory: Any) -> Any:
        groups.append(len(entries))
        return write_group(entries, inventory)

    service.store.write_group = counted  # type: ignore[method-assign]
    bodies = [_new_dataset(n) for n in range(24)]
    bodies[7] = _new_dataset(7, site="T2_XX_Nowhere")
    bodies[10:10] = [injection(range(3)), injection(range(3, 6))]
    responses = await asyncio.gather(
        *(client.post("/api/v1/inject", json=body, headers=OPERATOR) for body in bodies)
    )
    failed = [n for n, r in enumerate(responses) if r.status_code != 200]
    assert failed == [7]
    assert responses[7].status_code == 400
    assert "T2_XX_Nowhere" in responses[7].json()["error"]["message"]
    seqs = [s for r in responses if r.status_code == 200 for s in r.json()["log_seqs"]]
    assert sorted(seqs) == [seq for seq, _ in service.store.read_log(start)]
    assert len(set(seqs)) == len(bodies) - 1
    assert len(groups) < len(bodies), groups  # transactions were shared
    dataset = (await client.get(f"/api/v1/datasets/{NEW}")).json()
    assert (dataset["size"], dataset["num_files"]) == (sum(1000 + n for n in range(6)), 6)
    reloaded = InventoryService.load(service.store, partition_compiler=toy_compiler)
    assert describe(reloaded.inventory) == describe(service.inventory)
