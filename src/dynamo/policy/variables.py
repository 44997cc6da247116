"""The variable registry: every name a condition may use, its type, scope and source.

A variable reads the model (``dataset.status``), a quantity derived from it
(``dataset.on_tape``, see :mod:`dynamo.policy.derived`) or an attribute filled by a producer
(``attribute`` names the entry of :class:`dynamo.policy.attributes.Attributes` it reads).
``Scope.BLOCK`` variables read one block replica; used on a dataset replica they mean "any of its
block replicas". Old names still found in campaign files are in :data:`DEPRECATED`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dynamo.model import BlockReplica, DatasetStatus, SiteStatus, StorageType
from dynamo.policy import attributes as attrs
from dynamo.policy import derived
from dynamo.policy.context import Frame

__all__ = [
    "DEPRECATED",
    "REGISTRY",
    "Deprecation",
    "Scope",
    "VarType",
    "Variable",
    "suggest",
]


class VarType(StrEnum):
    BOOL = "bool"
    NUMBER = "number"
    TEXT = "text"
    TIME = "time"
    ENUM = "enum"


class Scope(StrEnum):
    """What a variable reads; ``SITE`` variables are the only ones allowed in site conditions."""

    CONSTANT = "constant"
    DATASET = "dataset"
    REPLICA = "replica"
    BLOCK = "blockreplica"
    SITE = "site"


@dataclass(frozen=True, slots=True)
class Variable:
    """A registered variable.

    ``get`` takes a frame (and, for ``Scope.BLOCK``, the block replica). ``static`` marks
    variables that cannot change without the inventory reclassifying partitions (dataset name,
    status, release; site name, status, storage type; owner), the only ones a partition
    condition may read while letting the inventory cache membership per (dataset, site, group).
    ``replica_ok`` is False for site variables that need a site partition (occupancy, quota).
    """

    name: str
    type: VarType
    scope: Scope
    get: Callable[..., Any] = field(repr=False)
    doc: str
    enum: Mapping[str, int] | None = None
    attribute: str | None = None
    static: bool = False
    nullable: bool = False
    site_only: bool = False
    hint: Callable[[Frame], bool] | None = field(default=None, repr=False)
    """For a block-level boolean: False when no block replica of the frame can be True."""


@dataclass(frozen=True, slots=True)
class Deprecation:
    """An old variable name: mapped to ``replacement`` (a warning) or rejected with ``advice``."""

    name: str
    replacement: str | None
    advice: str


def _attr(kind: str, name: str, default: object) -> Callable[[Frame], object]:
    if kind == "dataset":

        def get_dataset(frame: Frame) -> object:
            values = frame.ctx.attributes.dataset.get(name)
            if values is None:
                return default
            assert frame.dataset is not None
            return values.get(frame.dataset.name, default)

        return get_dataset

    def get_replica(frame: Frame) -> object:
        values = frame.ctx.attributes.replica.get(name)
        if values is None:
            return default
        assert frame.dataset is not None
        return values.get((frame.dataset.name, frame.site.name), default)

    return get_replica


def _block_age(frame: Frame, replica: BlockReplica) -> object:
    values = frame.ctx.attributes.block.get(attrs.AGE_RELATIVE_TO_NEWEST)
    if values is None:
        return 0
    key = (replica.block.dataset.name, replica.block.name, replica.site.name)
    return values.get(key, 0)


def _occupancy(frame: Frame) -> float:
    return 0.0 if frame.usage is None else frame.usage.occupancy(physical=True)


def _quota(frame: Frame) -> float:
    return 0.0 if frame.usage is None else float(frame.usage.effective_quota())


def _enum(members: Any) -> Mapping[str, int]:
    return {member.name: int(member.value) for member in members}


_ON_TAPE = {
    "NONE": derived.ON_TAPE_NONE,
    "FULL": derived.ON_TAPE_FULL,
    "PARTIAL": derived.ON_TAPE_PARTIAL,
}
B, N, T, TM, E = VarType.BOOL, VarType.NUMBER, VarType.TEXT, VarType.TIME, VarType.ENUM
D, R, BR, S, C = Scope.DATASET, Scope.REPLICA, Scope.BLOCK, Scope.SITE, Scope.CONSTANT

_VARIABLES = [
    Variable("always", B, C, lambda f: True, "true"),
    Variable("never", B, C, lambda f: False, "false"),
    Variable("dataset.name", T, D, lambda f: f.dataset.name, "dataset name", static=True),
    Variable(
        "dataset.status",
        E,
        D,
        lambda f: f.dataset.status,
        "dataset status",
        enum=_enum(DatasetStatus),
        static=True,
    ),
    Variable(
        "dataset.on_tape",
        E,
        D,
        derived.dataset_on_tape,
        "NONE, FULL (a full replica on tape) or PARTIAL",
        enum=_ON_TAPE,
    ),
    Variable("dataset.size", N, D, lambda f: f.dataset.size, "bytes"),
    Variable("dataset.last_update", TM, D, lambda f: f.dataset.last_update, "last update"),
    Variable(
        "dataset.num_full_disk_copy",
        N,
        D,
        derived.dataset_num_full_disk_copy,
        "full replicas on ready disk sites",
    ),
    Variable("dataset.release", T, D, derived.dataset_release, "X_Y_Z[_suffix]", static=True),
    Variable(
        "dataset.last_access",
        TM,
        D,
        _attr("dataset", attrs.LAST_ACCESS, 0),
        "last access (popularity)",
        attribute=attrs.LAST_ACCESS,
    ),
    Variable(
        "dataset.usage_rank",
        N,
        D,
        _attr("dataset", attrs.USAGE_RANK, 0.0),
        "global usage rank (popularity)",
        attribute=attrs.USAGE_RANK,
    ),
    Variable(
        "dataset.demand_rank",
        N,
        D,
        _attr("dataset", attrs.DEMAND_RANK, 0.0),
        "global demand rank",
        attribute=attrs.DEMAND_RANK,
    ),
]
for _flag, _doc in [
    ("tape_copy_requested", "a tape copy is requested"),
    ("is_latest_production_release", "release is the latest production one"),
    ("on_protected_site", "a replica is on a protected site"),
    ("unknown_in_all_dbs", "unknown to every bookkeeping DB"),
    ("unhandled_copy_exists", "a copy request is pending"),
]:
    _VARIABLES.append(
        Variable(f"dataset.{_flag}", B, D, _attr("dataset", _flag, False), _doc, attribute=_flag)
    )
_VARIABLES += [
    Variable("replica.size", N, R, derived.replica_size, "physical bytes"),
    Variable(
        "replica.incomplete", B, R, derived.replica_incomplete, "a block replica is incomplete"
    ),
    Variable(
        "replica.last_block_created",
        TM,
        R,
        derived.replica_last_block_created,
        "newest block replica update",
    ),
    Variable(
        "replica.first_block_created",
        TM,
        R,
        derived.replica_first_block_created,
        "oldest block replica update",
    ),
    Variable(
        "replica.num_access",
        N,
        D,
        _attr("dataset", attrs.NUM_ACCESS, 0),
        "accesses to the dataset (popularity)",
        attribute=attrs.NUM_ACCESS,
    ),
    Variable(
        "replica.num_full_disk_copy_common_owner",
        N,
        R,
        derived.replica_num_full_disk_copy_common_owner,
        "full ready-disk replicas sharing an owner, this one included",
    ),
    Variable(
        "replica.num_full_other_copy_common_owner",
        N,
        R,
        derived.replica_num_full_other_copy_common_owner,
        "full replicas at other ready sites sharing an owner",
    ),
    Variable(
        "replica.enforcer_protected",
        B,
        R,
        _attr("replica", attrs.ENFORCER_PROTECTED, False),
        "protected by an enforcer rule",
        attribute=attrs.ENFORCER_PROTECTED,
    ),
    Variable(
        "blockreplica.is_last_transfer_source",
        B,
        BR,
        derived.block_is_last_transfer_source,
        "the only complete source of an incomplete copy",
        hint=derived.dataset_has_incomplete_replica,
    ),
    Variable("blockreplica.last_update", TM, BR, lambda f, r: r.last_update, "last update"),
    Variable(
        "blockreplica.owner",
        T,
        BR,
        lambda f, r: r.group.name,
        "owner group name, None for the null group",
        static=True,
        nullable=True,
    ),
    Variable(
        "blockreplica.is_locked",
        B,
        BR,
        lambda f, r: f.ctx.attributes.is_locked(r),
        "locked by a lock registry",
        attribute=attrs.LOCKED_BLOCKS,
        hint=lambda f: f.ctx.attributes.has_locks(f.dataset.name),  # type: ignore[union-attr]
    ),
    Variable(
        "blockreplica.num_full_disk_copy",
        N,
        BR,
        derived.block_num_full_disk_copy,
        "complete replicas of the block (any site type)",
    ),
    Variable("blockreplica.on_tape", B, BR, derived.block_on_tape, "a complete tape copy exists"),
    Variable(
        "blockreplica.age_relative_to_newest",
        N,
        BR,
        _block_age,
        "age relative to the newest block replica",
        attribute=attrs.AGE_RELATIVE_TO_NEWEST,
    ),
    Variable("site.name", T, S, lambda f: f.site.name, "site name", static=True),
    Variable(
        "site.status",
        E,
        S,
        lambda f: f.site.status,
        "site status",
        enum=_enum(SiteStatus),
        static=True,
    ),
    Variable(
        "site.storage_type",
        E,
        S,
        lambda f: f.site.storage_type,
        "DISK, MSS, BUFFER or UNKNOWN",
        enum=_enum(StorageType),
        static=True,
    ),
    Variable(
        "site.occupancy",
        N,
        S,
        _occupancy,
        "physical occupancy fraction of the partition quota",
        site_only=True,
    ),
    Variable("site.quota", N, S, _quota, "partition quota in bytes", site_only=True),
]

REGISTRY: Mapping[str, Variable] = {variable.name: variable for variable in _VARIABLES}
"""Every variable by name."""

_LAST_USED = (
    "write `dataset.last_update older_than T and dataset.last_access older_than T` "
    "(or `newer_than ... or ...`)"
)
DEPRECATED: Mapping[str, Deprecation] = {
    d.name: d
    for d in [
        Deprecation("replica.has_locked_block", "blockreplica.is_locked", ""),
        Deprecation("replica.group_name", "blockreplica.owner", ""),
        Deprecation("replica.is_last_transfer_source", "blockreplica.is_last_transfer_source", ""),
        Deprecation("replica.last_modified", "replica.last_block_created", ""),
        Deprecation("blockreplica.updated", "blockreplica.last_update", ""),
        Deprecation("replica.last_used", None, _LAST_USED),
        Deprecation("dataset.last_used", None, _LAST_USED),
        Deprecation("replica.owners", None, "write `blockreplica.owner == NAME` (any block)"),
        Deprecation("site.active", None, "use `site.status` (READY, WAITROOM, MORGUE, UNKNOWN)"),
        Deprecation(
            "dataset.is_last_transfer_source",
            None,
            "write `blockreplica.is_last_transfer_source` (any block)",
        ),
        Deprecation(
            "dataset.has_required_full_copies",
            None,
            "write `dataset.num_full_disk_copy < N`",
        ),
        Deprecation(
            "dataset.has_no_extra_copies",
            None,
            "write `replica.num_full_other_copy_common_owner == 0`",
        ),
        Deprecation("dataset.negative_size", None, "write `dataset.size < 0`"),
        Deprecation(
            "replica.num_full_disk_copy",
            None,
            "it never existed: write `dataset.num_full_disk_copy` "
            "or `blockreplica.num_full_disk_copy`",
        ),
    ]
}
"""Old variable names: mapped with a warning, or rejected with advice."""


def suggest(name: str, candidates: list[str]) -> str:
    """`` (did you mean X?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
