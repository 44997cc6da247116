"""From a comparison to actions, with the safety rules (pure; no I/O).

- A file missing for the first time waits (``wait``); missing again in the next run it is
  re-transferred (``transfer``) when another complete copy exists anywhere, disk or tape, else
  reported ``lost`` (invalidated only on request).
- A file of the wrong size is deleted and re-transferred at once (it is there, and wrong).
- Orphans are deleted (unless ``delete_orphans`` is off); empty directories removed.
- Limits: more missing files than ``max_missing`` or than ``max_missing_fraction`` of the
  files the site should hold, and likewise for orphans, and nothing of that kind is done:
  every such finding is ``held`` and the run says why. Operators look first.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dynamo.consistency.compare import Comparison
from dynamo.consistency.config import ConsistencyConfig
from dynamo.consistency.expected import ExpectedFile

__all__ = ["Action", "Decisions", "Finding", "Kind", "decide"]


class Kind(enum.StrEnum):
    MISSING = "missing"
    ORPHAN = "orphan"
    SIZE_MISMATCH = "size_mismatch"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    LOST = "lost"
    EMPTY_DIR = "empty_dir"
    UNMERGED = "unmerged"
    LOG = "log"


class Action(enum.StrEnum):
    NONE = "none"
    WAIT = "wait"
    TRANSFER = "transfer"
    DELETE = "delete"
    HELD = "held"
    INVALIDATE = "invalidate"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One file or directory a run classified, and what is done about it."""

    kind: Kind
    path: str
    action: Action
    lfn: str | None = None
    size: int | None = None
    expected: ExpectedFile | None = None
    detail: str | None = None

    @property
    def expected_size(self) -> int | None:
        return self.expected.size if self.expected is not None else None

    def to_json(self) -> dict[str, Any]:
        """The finding as the reports and ``--json`` give it."""
        return {
            "kind": self.kind.value,
            "path": self.path,
            "lfn": self.lfn,
            "size": self.size,
            "expected_size": self.expected_size,
            "action": self.action.value,
            "detail": self.detail,
        }


@dataclass(slots=True, kw_only=True)
class Decisions:
    """The findings of a run; ``held`` names the limits that stopped automatic actions."""

    findings: list[Finding] = field(default_factory=list)
    held: list[str] = field(default_factory=list)

    def of(self, action: Action) -> list[Finding]:
        return [f for f in self.findings if f.action is action]


def _over(count: int, total: int, limit: int, fraction: float) -> str | None:
    if count > limit:
        return f"{count} > {limit}"
    if total and count / total > fraction:
        return f"{count} of {total} files ({100 * count / total:.1f} %) > {100 * fraction:g} %"
    return None


def decide(
    comparison: Comparison,
    *,
    previously_missing: set[str],
    has_other_copy: Callable[[ExpectedFile], bool],
    config: ConsistencyConfig,
    checksum_mismatch: list[tuple[str, ExpectedFile, str]] | None = None,
    invalidate_lost: bool = False,
) -> Decisions:
    """The actions for ``comparison`` (see the module docstring). ``checksum_mismatch`` holds
    (path, expected file, adler32 found) for sampled files whose checksum differed."""
    out = Decisions()
    total = comparison.expected_files
    too_many_missing = _over(
        len(comparison.missing), total, config.max_missing, config.max_missing_fraction
    )
    if too_many_missing:
        out.held.append(f"missing files: {too_many_missing}; nothing re-transferred")
    for path, expected in comparison.missing:
        out.findings.append(
            _missing(
                path,
                expected,
                too_many_missing is not None,
                previously_missing,
                has_other_copy,
                invalidate_lost,
            )
        )
    too_many_orphans = _over(
        len(comparison.orphans), total, config.max_orphan, config.max_orphan_fraction
    )
    if too_many_orphans:
        out.held.append(f"orphan files: {too_many_orphans}; nothing deleted")
    for stat in comparison.orphans:
        if too_many_orphans:
            action = Action.HELD
        else:
            action = Action.DELETE if config.delete_orphans else Action.NONE
        out.findings.append(
            Finding(kind=Kind.ORPHAN, path=stat.path, action=action, size=stat.size)
        )
    for stat, expected in comparison.size_mismatch:
        out.findings.append(
            Finding(
                kind=Kind.SIZE_MISMATCH,
                path=stat.path,
                lfn=expected.lfn,
                size=stat.size,
                expected=expected,
                action=Action.TRANSFER if has_other_copy(expected) else Action.NONE,
                detail=f"{stat.size} bytes on storage, {expected.size} in the inventory",
            )
        )
    for path, expected, found in checksum_mismatch or ():
        out.findings.append(
            Finding(
                kind=Kind.CHECKSUM_MISMATCH,
                path=path,
                lfn=expected.lfn,
                size=expected.size,
                expected=expected,
                action=Action.TRANSFER if has_other_copy(expected) else Action.NONE,
                detail=f"adler32 {found} on storage, {expected.adler32} in the inventory",
            )
        )
    for stat in comparison.empty_dirs:
        action = Action.DELETE if config.remove_empty_directories else Action.NONE
        out.findings.append(Finding(kind=Kind.EMPTY_DIR, path=stat.path, action=action))
    return out


def _missing(
    path: str,
    expected: ExpectedFile,
    held: bool,
    previously_missing: set[str],
    has_other_copy: Callable[[ExpectedFile], bool],
    invalidate_lost: bool,
) -> Finding:
    if held:
        return Finding(
            kind=Kind.MISSING, path=path, lfn=expected.lfn, expected=expected, action=Action.HELD
        )
    if expected.lfn not in previously_missing:
        return Finding(
            kind=Kind.MISSING,
            path=path,
            lfn=expected.lfn,
            expected=expected,
            action=Action.WAIT,
            detail="missing for the first time",
        )
    if has_other_copy(expected):
        return Finding(
            kind=Kind.MISSING,
            path=path,
            lfn=expected.lfn,
            expected=expected,
            action=Action.TRANSFER,
            detail="missing in two runs in a row",
        )
    return Finding(
        kind=Kind.LOST,
        path=path,
        lfn=expected.lfn,
        expected=expected,
        action=Action.INVALIDATE if invalidate_lost else Action.NONE,
        detail="missing in two runs and no other complete copy exists",
    )
