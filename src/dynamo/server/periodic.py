"""Work the server repeats on its own event loop while it leads (e.g. the user-data pass).

Unlike the scheduled applications, which run in forked children and return a ChangeSet, a
periodic task runs in the server process and commits through the inventory service itself;
it is for short passes that mostly wait on the database and storage.

A pass is never cancelled half-way: :meth:`PeriodicTask.stop` asks the loop to end and waits
for the pass under way, because a commit abandoned between its database transaction and its
in-memory apply would leave the image behind the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from dynamo.errors import DynamoError

__all__ = ["Hook", "PeriodicTask", "chain_hooks"]

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]


class PeriodicTask:
    """Runs ``action`` every ``every`` seconds between :meth:`start` and :meth:`stop`.

    The first pass runs at once. A pass that raises is logged (a :class:`DynamoError` as a
    warning with its message, anything else with its traceback) and the next pass runs on
    time. ``every <= 0`` makes start and stop do nothing.
    """

    def __init__(self, name: str, every: float, action: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self.every = every
        self._action = action
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0

    @property
    def is_running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if self.every <= 0 or self.is_running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)
        log.info("%s: a pass every %g s", self.name, self.every)

    async def stop(self) -> None:
        """End the loop after the pass under way, if any, and wait for it."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            await self._pass()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.every)

    async def _pass(self) -> None:
        try:
            result = await self._action()
        except DynamoError as exc:
            log.warning("%s: pass failed: %s", self.name, exc)
        except Exception:
            log.exception("%s: pass failed", self.name)
        else:
            self.passes += 1
            if result:
                log.info("%s: %s", self.name, result)


def chain_hooks(*hooks: Hook | None) -> Hook | None:
    """One hook that awaits each given hook in order (None if none is given)."""
    present = [hook for hook in hooks if hook is not None]
    if not present:
        return None

    async def chained() -> None:
        for hook in present:
            await hook()

    return chained
