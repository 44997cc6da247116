"""A copy request made through the API becomes a complete replica with real files: the next
Dealer cycle activates it and subscribes the files; the file-operations manager stages them
from an emulated tape site, the standalone worker copies them with checksum verification, the
updater completes the replica; the Dealer cycle after that completes the request.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.cli.main import app
from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.model import ChangeSet, Inventory, Operation, UpsertBlock, UpsertFile, UpsertGroup
from dynamo.policy import load_partitions, partition_compiler
from dynamo.server.service import InventoryService
from dynamo.storage import adler32_file
from dynamo.store import SqlInventoryStore
from fileops_rounds import fileops_round
from unit.policy.builders import GB, NOW, PARTITIONS, Builder, block_name

DATASET = "/ZeroBias1/Run2018C-UL2018_MiniAODv2-v1/MINIAOD"
BLOCKS = (block_name(DATASET, 0), block_name(DATASET, 1))
FILES = 3
TAPE = "T1_US_FNAL_MSS"
ALICE = {"X-Test-DN": "/CN=alice", "X-Test-Grants": "user:registry"}


def _lfn(block: str, index: int) -> str:
    number = BLOCKS.index(block)
    return f"/store/data/Run2018C/ZeroBias1/MINIAOD/UL2018_MiniAODv2-v1/{number:04d}/{index}.root"


def _content(block: str, index: int) -> bytes:
    return (f"{block}/{index} ".encode() * 3000)[: 20_000 + index]


@pytest.fixture
def store(tmp_path: Path) -> SqlInventoryStore:
    b = Builder().site(TAPE, mss=True)
    for site in ("T2_US_MIT", "T2_DE_DESY"):
        b.site(site).quota(site, "AnalysisOps", 100 * GB)
    size = sum(len(_content(BLOCKS[0], i)) for i in range(FILES))
    b.dataset(DATASET, blocks=len(BLOCKS), block_size=size)
    b.replica(DATASET, TAPE, "DataOps")
    ops: list[Operation] = [UpsertGroup(name=n) for n in ("AnalysisOps", "DataOps")]
    partitions = load_partitions(PARTITIONS.read_text(), file=str(PARTITIONS))
    ops += [op for op in partitions.ops if " " not in op.name]  # type: ignore[attr-defined]
    # the builder's blocks have 10 files; these have FILES
    ops += [replace(op, num_files=FILES) if isinstance(op, UpsertBlock) else op for op in b.ops]
    tape = tmp_path / "tape"
    for op in b.ops:
        block = getattr(op, "block", None) if op.kind == "upsert_block_replica" else None
        if block is None:
            continue
        for index in range(FILES):
            data = _content(BLOCKS[0], index)
            ops.append(
                UpsertFile(
                    lfn=_lfn(block, index),
                    dataset=DATASET,
                    block=block,
                    size=len(data),
                    adler32=f"{zlib.adler32(data) & 0xFFFFFFFF:08x}",
                )
            )
            path = tape / _lfn(block, index).lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    made = SqlInventoryStore.open(f"sqlite:///{tmp_path}/grid.sqlite", upgrade=True)
    made.commit(ChangeSet.of(ops), Inventory(partition_compiler=partition_compiler(now=NOW)))
    return made


@pytest.fixture
async def api(store: SqlInventoryStore) -> AsyncIterator[httpx.AsyncClient]:
    service = InventoryService.load(store, partition_compiler=partition_compiler(now=NOW))
    application = create_app(service, authenticator=HeaderTestAuthenticator())
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _dealer(store: SqlInventoryStore, now: int) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["dealer", "run", "--db", str(store.engine.url), "--now", str(now), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _transfer(store: SqlInventoryStore, endpoints: Endpoints, start: int, rounds: int = 8) -> None:
    inventory, _ = store.load(partition_compiler(now=NOW))
    for step in range(rounds):
        fileops_round(store, inventory, endpoints, start + 10 * step, seed=5)


async def test_a_copy_request_ends_as_a_complete_replica_of_real_files(
    store: SqlInventoryStore, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    body = {"items": [DATASET], "sites": ["T2_US_MIT", "T2_DE_DESY"], "group": "AnalysisOps"}
    made = await api.post("/api/v1/requests/copy", json=body, headers=ALICE)
    assert made.status_code in (200, 201), made.text
    request_id = made.json()["id"]
    _dealer(store, NOW)
    request = (await api.get(f"/api/v1/requests/{request_id}")).json()
    assert request["status"] == "activated"
    [action] = request["actions"]
    site = action["site"]
    endpoints = Endpoints(
        {
            TAPE: Endpoint(
                site=TAPE, url=f"file://{tmp_path / 'tape'}", is_tape=True, recall_delay=0.0
            ),
            "T2_US_MIT": Endpoint(site="T2_US_MIT", url=f"file://{tmp_path / 'mit'}"),
            "T2_DE_DESY": Endpoint(site="T2_DE_DESY", url=f"file://{tmp_path / 'desy'}"),
        }
    )
    for name in ("mit", "desy"):
        (tmp_path / name).mkdir()
    _transfer(store, endpoints, NOW + 60)
    inventory, _ = store.load(partition_compiler(now=NOW))
    for block in BLOCKS:
        replica = inventory.find_block_replica(DATASET, block, site)
        assert replica is not None
        assert replica.is_complete()
        assert replica.group.name == "AnalysisOps"
        for index in range(FILES):
            arrived = endpoints[site].storage.url(_lfn(block, index)).removeprefix("file://")
            assert Path(arrived).read_bytes() == _content(BLOCKS[0], index)
            assert (
                adler32_file(Path(arrived))
                == f"{zlib.adler32(_content(BLOCKS[0], index)) & 0xFFFFFFFF:08x}"
            )
    _dealer(store, NOW + 600)
    request = (await api.get(f"/api/v1/requests/{request_id}")).json()
    assert request["status"] == "completed"
