"""The server's periodic tasks: passes on time, failures logged, stop waits for the pass."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dynamo.errors import ConfigurationError
from dynamo.server.periodic import PeriodicTask, chain_hooks


async def test_the_first_pass_runs_at_once_and_the_next_ones_on_time() -> None:
    calls: list[float] = []

    async def action() -> None:
        calls.append(asyncio.get_running_loop().time())

    task = PeriodicTask("t", 0.01, action)
    await task.start()
    while len(calls) < 3:
        await asyncio.sleep(0.005)
    await task.stop()
    assert task.passes >= 3
    assert not task.is_running


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def action() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConfigurationError("no storage for T2_XX")
        if calls == 2:
            raise RuntimeError("a bug")
        return "did something"

    task = PeriodicTask("demo pass", 0.001, action)
    with caplog.at_level(logging.INFO, logger="dynamo.server.periodic"):
        await task.start()
        while calls < 3:
            await asyncio.sleep(0.005)
        await task.stop()
    messages = [record.getMessage() for record in caplog.records]
    assert "demo pass: pass failed: no storage for T2_XX" in messages
    assert any(r.exc_info for r in caplog.records if r.getMessage() == "demo pass: pass failed")
    assert "demo pass: did something" in messages


async def test_stop_waits_for_the_pass_under_way_instead_of_cancelling_it() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def action() -> None:
        started.set()
        await release.wait()
        finished.append(True)

    task = PeriodicTask("t", 60, action)
    await task.start()
    await started.wait()
    stopping = asyncio.create_task(task.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()
    release.set()
    await stopping
    assert finished == [True]


async def test_a_task_every_zero_seconds_never_runs() -> None:
    async def action() -> None:
        raise AssertionError("must not run")

    task = PeriodicTask("off", 0, action)
    await task.start()
    assert not task.is_running
    await task.stop()


async def test_chained_hooks_run_in_order_and_none_are_skipped() -> None:
    order: list[str] = []

    def hook(name: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            order.append(name)

        return run

    chained = chain_hooks(hook("a"), None, hook("b"))
    assert chained is not None
    await chained()
    assert order == ["a", "b"]
    assert chain_hooks(None, None) is None
