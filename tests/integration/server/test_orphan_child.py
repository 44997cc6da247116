"""An application child does not outlive the server that forked it: SIGKILL the parent (a
real process running a ForkRunner) while its child runs an application that would sleep for
ten minutes, or writes a result larger than a pipe holds; the child is gone within seconds.
Before, such a child lived on (the second one blocked for ever on a pipe whose read end it
held itself) and kept what it inherited, e.g. the SQLite server lock, so that the server could
not start again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PARENT = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from dynamo.model import Inventory
    from dynamo.server.applications import AppResult
    from dynamo.server.runner import ForkRunner

    class App:
        name, writes, description = "orphan", False, "outlives its parent, if it may"

        def run(self, ctx):
            if sys.argv[2] == "sleep":
                time.sleep(600)
                return AppResult()
            time.sleep(1.0)  # the parent is killed meanwhile
            return AppResult(summary={"blob": "x" * (1 << 20)})

    async def main():
        runner = ForkRunner(Path(sys.argv[1]))
        child = runner.start(
            App(), inventory=Inventory(), run_id=1, args={}, now=0, writes=False, timeout=None
        )
        print(child.pid, flush=True)
        time.sleep(600)

    asyncio.run(main())
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; its reaper may be slow


@pytest.mark.parametrize("how", ["sleep", "big-result"])
def test_a_child_dies_with_its_killed_parent(how: str, tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path), how],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while _alive(child):
            assert time.monotonic() < deadline, f"the child {child} outlived its parent"
            time.sleep(0.05)
    finally:
        parent.stdout.close()
        if _alive(child):  # pragma: no cover - only when the test fails
            os.kill(child, signal.SIGKILL)
