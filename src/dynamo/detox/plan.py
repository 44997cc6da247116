"""What a Detox cycle decides: :class:`DetoxPlan` and its parts, and the options of a cycle.

A plan is a value: per target site the occupancy before and after and why deletion stopped
(:class:`SiteOutcome`), per replica the decision rows with the policy line that made each
(:class:`DecisionRow`), and the block replicas to delete (:class:`Deletion`). Line ids are the
indexes of the policy's action lines; :data:`SAFETY_LINE` (-1) is the hard rule that keeps the
last complete disk or tape copy of a block. :meth:`DetoxPlan.changeset` is what a committed cycle
does to the inventory: the deleted block replicas (and dataset replicas left empty) are handed to
the null group, where file operations pick them up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from dynamo.model import ChangeSet, Operation, UpsertBlockReplica, UpsertDatasetReplica

__all__ = [
    "SAFETY_LINE",
    "SAFETY_TEXT",
    "DecisionRow",
    "Deletion",
    "DetoxOptions",
    "DetoxPlan",
    "SiteOutcome",
    "Verdict",
]

SAFETY_LINE = -1
SAFETY_TEXT = "[safety] never delete the last complete disk or tape copy of a block"


class Verdict(StrEnum):
    DELETE = "delete"
    KEEP = "keep"
    PROTECT = "protect"


@dataclass(frozen=True, slots=True)
class DetoxOptions:
    """How a cycle runs.

    ``deletion_per_iteration``: the fraction of a site's quota deleted per iteration before
    everything the deletion can change is re-evaluated (the original's default, 0.01).
    ``protect_last_copy``: the hard safety rule (on by default). ``full_reevaluation``
    re-evaluates every replica after each step, as the original did: the reference the
    incremental planner is tested against, far slower. ``seed`` orders replicas that the
    policy's ``Order`` leaves tied.
    """

    deletion_per_iteration: float = 0.01
    protect_last_copy: bool = True
    full_reevaluation: bool = False
    seed: int = 0


class DecisionRow(NamedTuple):
    """``num_blocks`` block replicas of ``dataset`` at ``site`` (``size`` bytes) got ``verdict``
    because of policy line ``line_id``. (A named tuple, as :class:`Deletion`.)"""

    site: str
    dataset: str
    verdict: Verdict
    line_id: int
    size: int
    num_blocks: int


class Deletion(NamedTuple):
    """A block replica the plan deletes, with what the null-group hand-over must keep.

    (A named tuple: a cycle at scale M makes 1.5M of them, and a frozen dataclass takes three
    times as long to build.)
    """

    dataset: str
    block: str
    site: str
    size: int
    num_files: int
    is_custodial: bool
    last_update: int
    line_id: int
    whole_dataset_replica: bool = False


@dataclass(frozen=True, slots=True)
class SiteOutcome:
    """A target site before and after the plan. ``stop_reason`` is set when the site was
    triggered and the plan could not bring it to its stop condition."""

    name: str
    status: str
    quota_bytes: int
    occupancy_before: float
    occupancy_after: float
    triggered: bool
    reached_stop: bool
    protected_bytes: int
    kept_bytes: int
    deleted_bytes: int
    stop_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "quota_bytes": self.quota_bytes,
            "occupancy_before": _finite(self.occupancy_before),
            "occupancy_after": _finite(self.occupancy_after),
            "triggered": self.triggered,
            "reached_stop": self.reached_stop,
            "protected_bytes": self.protected_bytes,
            "kept_bytes": self.kept_bytes,
            "deleted_bytes": self.deleted_bytes,
            "stop_reason": self.stop_reason,
        }


def _finite(value: float) -> float | None:
    """JSON has no infinity: a zero quota with data on it reads as null."""
    return None if value == float("inf") else round(value, 6)


@dataclass(frozen=True, slots=True)
class DetoxPlan:
    """The outcome of planning one partition (see the module docstring)."""

    partition: str
    now: int
    seed: int
    sites: tuple[SiteOutcome, ...]
    decisions: tuple[DecisionRow, ...]
    deletions: tuple[Deletion, ...]
    line_matches: dict[int, int] = field(default_factory=dict)
    iterations: int = 0
    evaluations: int = 0
    safety_bites: int = 0
    ignored_replicas: int = 0

    def counts(self) -> dict[str, int]:
        """Decision rows per verdict, every verdict present."""
        found = Counter(row.verdict.value for row in self.decisions)
        return {verdict.value: found.get(verdict.value, 0) for verdict in Verdict}

    @property
    def deleted_bytes(self) -> int:
        return sum(deletion.size for deletion in self.deletions)

    def changeset(self) -> ChangeSet:
        """Hand the deleted block replicas (and emptied dataset replicas) to the null group."""
        ops: list[Operation] = []
        emptied: set[tuple[str, str]] = set()
        for deletion in self.deletions:
            key = (deletion.dataset, deletion.site)
            if deletion.whole_dataset_replica and key not in emptied:
                emptied.add(key)
                ops.append(UpsertDatasetReplica(dataset=key[0], site=key[1], growing=False))
            ops.append(
                UpsertBlockReplica(
                    dataset=deletion.dataset,
                    block=deletion.block,
                    site=deletion.site,
                    group=None,
                    is_custodial=deletion.is_custodial,
                    size=deletion.size,
                    num_files=deletion.num_files,
                    last_update=deletion.last_update,
                )
            )
        return ChangeSet(tuple(ops))

    def summary(self) -> dict[str, Any]:
        """The small JSON summary of the cycle (what `dynamo detox run --json` starts with)."""
        return {
            "partition": self.partition,
            "now": self.now,
            "seed": self.seed,
            "decisions": self.counts(),
            "deleted_block_replicas": len(self.deletions),
            "deleted_bytes": self.deleted_bytes,
            "iterations": self.iterations,
            "evaluations": self.evaluations,
            "safety_rule_kept": self.safety_bites,
            "ignored_replicas": self.ignored_replicas,
        }
