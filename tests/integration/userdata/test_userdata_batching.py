"""Registrations that arrive while one is being committed are committed together, each
checked on its own: a bad one is refused without taking the others down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from dynamo.model import Inventory, Operation
from dynamo.server.service import InventoryService
from dynamo.store import SideWrite
from dynamo.userdata import Caller, DuplicateNameError, UserDataService
from dynamo.userdata.service import Plan
from userdata_world import DATASET, World, adler, content, lfn, make_world


class GatedWriter:
    """The real inventory service, whose commits wait for ``gate`` and are counted."""

    def __init__(self, service: InventoryService) -> None:
        self.service = service
        self.gate = asyncio.Event()
        self.batches: list[int] = []

    @property
    def inventory(self) -> Inventory:
        return self.service.inventory

    async def commit_plan(self, plan: Plan, *, also: SideWrite | None = None) -> object:
        await self.gate.wait()

        async def counted(inventory: Inventory) -> Sequence[Operation]:
            ops = await plan(inventory)
            self.batches.append(sum(op.kind == "upsert_file" for op in ops))
            return ops

        return await self.service.commit_plan(counted, also=also)


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for made in make_world(tmp_path, max_files=3):
        yield made


async def test_waiting_registrations_are_committed_in_one_changeset(world: World) -> None:
    writer = GatedWriter(world.service)
    userdata = UserDataService(
        writer, world.store.engine, world.userdata.endpoints, world.userdata.options
    )
    alice = Caller("alice")
    names = [f"f{i}" for i in range(7)]
    for name in names:
        path = world.roots["T2_US_MIT"] / lfn(name).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(name))

    def confirm(name: str, checksum: str | None = None) -> asyncio.Task[object]:
        data = content(name)
        return asyncio.create_task(
            userdata.confirm(
                alice, DATASET, lfn(name), "T2_US_MIT", len(data), checksum or adler(data)
            )
        )

    first = confirm(names[0])
    await _until(lambda: userdata._flusher is not None and not userdata._queue)
    rest = [confirm(name) for name in names[1:]]
    twice = confirm(names[1])  # the same name again, in the same batch
    await _until(lambda: len(userdata._queue) == 7)  # every one verified and waiting
    writer.gate.set()
    done = await asyncio.gather(first, *rest, twice, return_exceptions=True)
    assert isinstance(done[-1], DuplicateNameError)
    assert not any(isinstance(d, BaseException) for d in done[:-1])
    assert writer.batches == [1, 6]
    blocks = {b["name"]: b["num_files"] for b in (await world.status())["blocks"]}
    assert blocks == {"T2_US_MIT-0001": 3, "T2_US_MIT-0002": 3, "T2_US_MIT-0003": 1}
