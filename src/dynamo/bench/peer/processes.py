"""Resident memory and CPU time of a server's processes (its main process and its children,
e.g. gunicorn's workers), read from ``/proc``; 0 for a process that is gone or without /proc."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["cpu_seconds", "process_tree", "rss_bytes"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, as they are now."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        found.append(parent)
        todo += _children(parent)
    return found


def _children(pid: int) -> list[int]:
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    found = []
    for thread in threads:
        try:
            found += [int(child) for child in (thread / "children").read_text().split()]
        except OSError:
            continue  # the thread ended
    return found


def _each(pid: int, name: str) -> Iterator[str]:
    """``/proc/<member>/<name>`` of every member of ``pid``'s tree still there."""
    for member in process_tree(pid):
        try:
            yield Path(f"/proc/{member}/{name}").read_text()
        except OSError:
            continue


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and its descendants (all their threads) so far."""
    ticks = 0
    for stat in _each(pid, "stat"):
        fields = stat.rsplit(")", 1)[1].split()  # after the command, which may hold spaces
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / _TICK


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    return sum(
        int(line.split()[1]) * 1024
        for status in _each(pid, "status")
        for line in status.splitlines()
        if line.startswith("VmRSS:")
    )
