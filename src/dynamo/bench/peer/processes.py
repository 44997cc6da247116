"""Resident memory and CPU time of a server's processes (its main process and its children,
e.g. gunicorn's workers), from their CPU-time clocks and ``/proc``; 0 for a process that is gone."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["cpu_seconds", "process_tree", "rss_bytes"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_CPUCLOCK_SCHED = 2
"""Linux's clock id of another process's CPU time is ``(~pid << 3) | 2`` (whole process)."""


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


def _each_of(pids: list[int], name: str) -> Iterator[str]:
    """``/proc/<pid>/<name>`` of each of ``pids`` still there."""
    for pid in pids:
        try:
            yield Path(f"/proc/{pid}/{name}").read_text()
        except OSError:
            continue


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of ``pid`` and its descendants (all their threads) so far."""
    return sum(_cpu_of(member) for member in process_tree(pid))


def _cpu_of(pid: int) -> float:
    """The process's CPU-time clock (nanoseconds; what ``clock_getcpuclockid`` gives), else
    ``/proc/PID/stat`` (clock ticks, 10 ms: a few hundred fast requests are a few ticks)."""
    try:
        return time.clock_gettime(((~pid) << 3) | _CPUCLOCK_SCHED)
    except OSError:
        pass
    for stat in _each_of([pid], "stat"):
        fields = stat.rsplit(")", 1)[1].split()  # after the command, which may hold spaces
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15)
    return 0.0


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    return sum(
        int(line.split()[1]) * 1024
        for status in _each_of(process_tree(pid), "status")
        for line in status.splitlines()
        if line.startswith("VmRSS:")
    )
