"""``dynamo userdata run``: the background pass over a database, with the sites of a server
configuration: once the files of a subscribed dataset are complete at the target, the copies
elsewhere are subscribed for deletion; once they are gone the dataset is consolidated."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dynamo.cli.main import app
from dynamo.model import (
    ChangeSet,
    DeleteBlockReplica,
    DeleteDatasetReplica,
    Inventory,
    UpsertBlockReplica,
)
from dynamo.policy import partition_compiler
from dynamo.store.schema.fileops import fileop_subscriptions
from userdata_world import ALICE, API, DATASET, SITES, World, make_world

runner = CliRunner()


def _image(world: World) -> Inventory:
    """The committed inventory (what the updater would commit against)."""
    return world.store.load(partition_compiler())[0]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path):
        yield made


async def _run(world: World, tmp_path: Path) -> dict[str, Any]:
    """The command, in a thread of its own (it runs its own event loop)."""
    return await asyncio.to_thread(_command, world, tmp_path)


def _command(world: World, tmp_path: Path) -> dict[str, Any]:
    config = tmp_path / "server.toml"
    tables = [f'[storage.{s}]\nurl = "file://{world.roots[s]}"\n' for s in SITES]
    config.write_text("".join(tables) + "[userdata]\nmax_files_per_block = 10\n")
    url = str(world.store.engine.url)
    result = runner.invoke(app, ["userdata", "run", "--db", url, "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def test_a_pass_deletes_the_scattered_copies_once_the_target_holds_them(
    world: World, tmp_path: Path
) -> None:
    assert (await world.inject("a", "T2_US_MIT")).status_code == 201
    await world.client.post(f"{API}/complete", json={"dataset": DATASET}, headers=ALICE)
    subscribed = await world.client.post(
        f"{API}/subscriptions", json={"dataset": DATASET, "site": "T2_DE_DESY"}, headers=ALICE
    )
    assert subscribed.json()["transfers"] == 1
    assert (await _run(world, tmp_path))["deletions"] == 0  # the copy has not arrived
    block = "T2_US_MIT-0001"
    arrived = UpsertBlockReplica(dataset=DATASET, block=block, site="T2_DE_DESY", group="userdata")
    world.store.commit(ChangeSet.of([arrived]), _image(world))
    assert (await _run(world, tmp_path))["deletions"] == 1
    with world.store.engine.connect() as conn:
        rows = conn.execute(
            select(fileop_subscriptions.c.kind, fileop_subscriptions.c.site).where(
                fileop_subscriptions.c.origin == "userdata"
            )
        ).all()
    assert sorted(rows) == [("deletion", "T2_US_MIT"), ("transfer", "T2_DE_DESY")]
    gone = [
        DeleteBlockReplica(dataset=DATASET, block=block, site="T2_US_MIT"),
        DeleteDatasetReplica(dataset=DATASET, site="T2_US_MIT"),
    ]
    world.store.commit(ChangeSet.of(gone), _image(world))
    assert (await _run(world, tmp_path))["consolidated"] == [DATASET]
