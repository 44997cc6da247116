"""Cleaning a production area such as ``/store/unmerged`` (pure; no I/O).

Production jobs write intermediate files there; once their workflow is done, nothing uses
them. A file is deleted when it is older than the area's age limit and no active workflow
protects it (its LFN is not under a protected prefix, as WMCore's MSUnmerged lists them).
Logs (under the ``logs`` directory) go by their own, longer, age limit and are never protected.
The area itself lies outside the inventory: nothing here looks at replicas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dynamo.consistency.config import UnmergedConfig, is_under
from dynamo.consistency.decide import Action, Finding, Kind
from dynamo.storage import FileStat

__all__ = ["clean_unmerged"]


def clean_unmerged(
    listing: Iterable[FileStat],
    config: UnmergedConfig,
    *,
    now: float,
    lfn_of: Callable[[str], str] = lambda path: path,
) -> tuple[list[Finding], dict[str, int]]:
    """What to delete in the area listed by ``listing``, and counts of what was kept and why."""
    logs = config.logs.rstrip("/") + "/"
    protected = config.protection()
    findings: list[Finding] = []
    counts = {"unmerged_files": 0, "protected": 0, "young": 0}
    for stat in listing:
        if stat.is_dir:
            continue
        counts["unmerged_files"] += 1
        lfn = lfn_of(stat.path)
        age = now - stat.mtime.timestamp()
        if lfn.startswith(logs):
            if age > config.logs_max_age_seconds:
                findings.append(_delete(Kind.LOG, stat, lfn, age))
            else:
                counts["young"] += 1
        elif is_under(lfn, protected):
            counts["protected"] += 1
        elif age > config.max_age_seconds:
            findings.append(_delete(Kind.UNMERGED, stat, lfn, age))
        else:
            counts["young"] += 1
    return findings, counts


def _delete(kind: Kind, stat: FileStat, lfn: str, age: float) -> Finding:
    return Finding(
        kind=kind,
        path=stat.path,
        lfn=lfn,
        size=stat.size,
        action=Action.DELETE,
        detail=f"{age / 86_400:.0f} days old",
    )
