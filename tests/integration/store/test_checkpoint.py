"""Checkpoints of the inventory on every backend: a checkpoint plus the log after it gives the
image a full load gives; a damaged, foreign or outdated checkpoint is refused."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from contract.store.inventory_ops import DATASET, assert_same, base_ops
from doubles import toy_compiler
from dynamo.cli.main import app
from dynamo.model import ChangeSet, DeleteDataset, UpsertDataset
from dynamo.server.replication import LogFollower
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.checkpoint import (
    CheckpointError,
    find_checkpoints,
    load_checkpoint,
    write_checkpoint,
)

DatabaseUrlFactory = Callable[[str], str]


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(
    request: pytest.FixtureRequest, database_url_factory: DatabaseUrlFactory
) -> Iterator[SqlInventoryStore]:
    store = SqlInventoryStore.open(database_url_factory(request.param), upgrade=True)
    loaded, _ = store.load(partition_compiler=toy_compiler)
    store.commit(base_ops(), loaded)
    yield store
    store.close()


async def test_a_checkpoint_and_the_log_after_it_equal_a_full_load(
    store: SqlInventoryStore, tmp_path: Path
) -> None:
    info = write_checkpoint(store.engine, tmp_path)
    assert info.seq == store.last_seq()
    assert info.rows["datasets"] == 2
    service = InventoryService.load(store, partition_compiler=toy_compiler)
    for number in range(3):
        await service.commit(ChangeSet.of([UpsertDataset(name=f"/After/C{number}/RAW")]))
    await service.commit(ChangeSet.of([DeleteDataset(name=DATASET)]))
    inventory, seq = load_checkpoint(info.path, store.engine, partition_compiler=toy_compiler)
    assert seq == info.seq
    joined = InventoryService(store, inventory, seq)
    assert await LogFollower(joined, store, partition_compiler=toy_compiler).catch_up() == 4
    assert_same(store, joined.inventory)
    assert joined.seq == store.last_seq()


def test_only_the_newest_checkpoints_are_kept(store: SqlInventoryStore, tmp_path: Path) -> None:
    inventory, _ = store.load(partition_compiler=toy_compiler)
    for number in range(3):
        write_checkpoint(store.engine, tmp_path, keep=2)
        store.commit(ChangeSet.of([UpsertDataset(name=f"/Kept/C{number}/RAW")]), inventory)
    newest = write_checkpoint(store.engine, tmp_path, keep=2)
    assert find_checkpoints(tmp_path)[0] == newest.path
    assert len(find_checkpoints(tmp_path)) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_truncated_or_foreign_checkpoint_is_refused(
    store: SqlInventoryStore, tmp_path: Path, database_url_factory: DatabaseUrlFactory
) -> None:
    info = write_checkpoint(store.engine, tmp_path / "good")
    data = info.path.read_bytes()
    truncated = tmp_path / "inventory-000000000001.ckpt"
    truncated.write_bytes(data[: len(data) - 40])
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated, store.engine, partition_compiler=toy_compiler)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    truncated.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated, store.engine, partition_compiler=toy_compiler)
    other = SqlInventoryStore.open(database_url_factory("sqlite"), upgrade=True)
    try:
        loaded, _ = other.load(partition_compiler=toy_compiler)
        other.commit(ChangeSet.of([UpsertDataset(name="/Other/Database/RAW")]), loaded)
        with pytest.raises(CheckpointError, match="not of this database"):
            load_checkpoint(info.path, other.engine, partition_compiler=toy_compiler)
    finally:
        other.close()


def test_the_cli_writes_a_checkpoint_a_server_can_load(
    store: SqlInventoryStore, tmp_path: Path
) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["db", "checkpoint", str(tmp_path), "--db", url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["seq"] == store.last_seq()
    assert report["rows"]["block_replicas"] == 4
    inventory, seq = load_checkpoint(
        Path(report["path"]), store.engine, partition_compiler=toy_compiler
    )
    assert seq == store.last_seq()
    assert_same(store, inventory)
