"""SIGKILL in the middle of large commits: the DB holds exactly the committed ChangeSets.

A child process commits a deterministic series of ChangeSets (thousands of operations each)
and prints each seq once commit() returns; the parent kills it with SIGKILL at a random moment
inside a commit, several rounds in a row, and checks after each round that the log is a prefix
of the series (at most one entry more than the child reported), that the loaded inventory and
every block's files equal a fresh in-memory replay of exactly the logged ChangeSets, and at the
end that the store takes a further commit. The group-commit variant writes three changesets per
transaction (``write_group``): the log must then hold whole groups only.
"""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from crash_series import changeset

from doubles import toy_compiler as owner_compiler
from dynamo.model import Inventory, describe, diff
from dynamo.store import MemoryInventoryStore, SqlInventoryStore, migrate

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 3
COMMITS_BEFORE_KILL = (1, 3)
GROUP = 3
GROUP_ROUNDS = 2
LINE_TIMEOUT_S = 300.0  # a guard against a hung child, not a performance assertion


class Child:
    """The child process, its stdout read unbuffered so that no line waits in a buffer."""

    def __init__(self, url: str, limit: int, group: int = 1) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(CHILD.parent), *sys.path]))
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), url, str(limit), str(group)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            env=env,
        )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.pending = b""
        self.done: list[tuple[int, int]] = []

    def _record(self, text: bytes) -> list[str]:
        words = text.decode().split()
        if len(words) == 3 and words[0] == "done":
            self.done.append((int(words[1]), int(words[2])))
        return words

    def line(self) -> list[str]:
        while b"\n" not in self.pending:
            if not self.selector.select(LINE_TIMEOUT_S):
                self.kill()
                pytest.fail("the crash child printed nothing for too long")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                _, err = self.proc.communicate()
                pytest.fail(f"the crash child ended early ({self.proc.returncode}): {err!r}")
            self.pending += chunk
        text, self.pending = self.pending.split(b"\n", 1)
        return self._record(text)

    def kill(self) -> None:
        """SIGKILL the child, then read what it printed before dying (it may be ahead)."""
        self.proc.send_signal(signal.SIGKILL)
        rest, _ = self.proc.communicate()
        self.selector.close()
        self.pending += rest or b""
        for text in self.pending.split(b"\n"):
            if text:
                self._record(text)


def run_round(url: str, rng: random.Random, group: int = 1) -> list[tuple[int, int]]:
    """One child, killed in the middle of a commit; returns the (k, seq) it reported."""
    commits = rng.randint(*COMMITS_BEFORE_KILL)
    child = Child(url, limit=commits + 5, group=group)
    durations: list[float] = []
    began = 0.0
    while True:
        words = child.line()
        if words[0] == "begin":
            began = time.monotonic()
            if len(child.done) == commits * group:
                break
        elif words[0] == "done":
            durations.append(time.monotonic() - began)
    time.sleep(rng.uniform(0.1, 0.95) * max(durations))
    child.kill()
    return child.done


def replay(count: int) -> tuple[MemoryInventoryStore, Inventory]:
    store, inventory = MemoryInventoryStore(), Inventory(partition_compiler=owner_compiler)
    for k in range(count):
        store.commit(changeset(k), inventory)
    return store, inventory


def check_consistent(
    store: SqlInventoryStore, reported: list[tuple[int, int]], group: int = 1
) -> int:
    """The log is a prefix of the series and the tables equal its replay; returns its length."""
    logged = list(store.read_log())
    seq_of = {k: seq for k, (seq, _) in enumerate(logged)}
    for k, seq in reported:
        assert seq_of.get(k) == seq, f"changeset {k} was reported as seq {seq}"
    if reported:
        # the child reports a group's members one line each: it may die between two of them
        whole = -(-(reported[-1][0] + 1) // group) * group
        assert len(logged) in (whole, whole + group), "at most the killed commit is extra"
    assert len(logged) % group == 0, "a group is logged whole or not at all"
    for k, (_, logged_changeset) in enumerate(logged):
        assert logged_changeset == changeset(k), f"log entry {k} is not changeset {k}"
    memory, expected = replay(len(logged))
    loaded, seq = store.load(partition_compiler=owner_compiler)
    assert diff(loaded, expected) == []
    assert describe(loaded) == describe(expected)
    assert seq == (logged[-1][0] if logged else 0)
    for dataset in expected.datasets.values():
        for block in dataset.blocks.values():
            assert store.files_of(block) == memory.files_of(block), block.full_name
    return len(logged)


def kill_rounds(url: str, seed: str, rounds: int, group: int) -> None:
    """Migrate ``url``, then ``rounds`` children killed mid-commit, checked after each."""
    migrate(url)
    rng = random.Random(seed)
    for _ in range(rounds):
        reported = run_round(url, rng, group)
        store = SqlInventoryStore.open(url)
        try:
            check_consistent(store, reported, group)
        finally:
            store.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_sigkill_during_large_commits_leaves_exactly_the_committed_changesets(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    url = database_url_factory(backend)
    kill_rounds(url, f"crash-{backend}", ROUNDS, group=1)
    store = SqlInventoryStore.open(url)
    try:
        inventory, _ = store.load(partition_compiler=owner_compiler)
        count = sum(1 for _ in store.read_log())
        seq = store.commit(changeset(count), inventory)
        assert seq == store.last_seq()
        assert check_consistent(store, []) == count + 1
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_sigkill_during_group_commits_leaves_whole_groups(
    backend: str, database_url_factory: Callable[[str], str]
) -> None:
    kill_rounds(database_url_factory(backend), f"group-crash-{backend}", GROUP_ROUNDS, GROUP)
