"""Detox's configuration (``[detox]`` in the server's TOML) and the commit of its records.

::

    [detox]
    deletion_per_iteration = 0.01     # share of a site's quota deleted per iteration
    protect_last_copy = true          # the hard last-copy rule
    [detox.partitions.Physics]
    policy = "policies/Physics.txt"   # read again at every cycle
    partitions = "policies/partitions.txt"   # optional, also read at every cycle
    [detox.producers.enforcer]        # producers; without this table, the defaults
    rules = ["policies/enforcer_rules_physics.json"]
    [detox.history]                   # retention (dynamo.detox.retention)
    keep_decisions = 42               # cycles whose decisions are kept, per partition
    keep_days = 365                   # cycles older than this are removed

The application (:mod:`dynamo.server.detox_app`) returns a ``detox.commit`` record per cycle
with its ChangeSet; :func:`commit_records` is their server side: inside the commit's
transaction, each cycle becomes committed and its deletions are queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from dynamo.detox.cycle import COMMIT_RECORD, PolicySource
from dynamo.detox.history import commit_cycle
from dynamo.detox.plan import DetoxOptions
from dynamo.detox.retention import Retention
from dynamo.errors import ConfigurationError

__all__ = ["COMMIT_RECORD", "DetoxConfig", "commit_records"]


@dataclass(frozen=True, slots=True)
class DetoxConfig:
    """The ``[detox]`` table: partitions with their policy files, producers, options."""

    partitions: Mapping[str, PolicySource] = field(default_factory=dict)
    producers: Mapping[str, Mapping[str, Any]] | None = None
    options: DetoxOptions = field(default_factory=DetoxOptions)
    base_dir: Path = field(default_factory=Path.cwd)
    retention: Retention = field(default_factory=Retention)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], *, base_dir: Path) -> DetoxConfig:
        """Read the ``[detox]`` table; paths are relative to ``base_dir``."""
        allowed = {
            "partitions",
            "producers",
            "deletion_per_iteration",
            "protect_last_copy",
            "history",
        }
        unknown = set(table) - allowed
        if unknown:
            raise ConfigurationError(f"[detox]: unknown keys {sorted(unknown)}")
        partitions = {}
        for name, entry in _table(table, "partitions").items():
            if not isinstance(entry, Mapping) or not isinstance(entry.get("policy"), str):
                raise ConfigurationError(f"[detox.partitions.{name}]: 'policy' must be a path")
            extra = entry.get("partitions")
            partitions[name] = PolicySource(
                partition=name,
                policy_file=base_dir / entry["policy"],
                partitions_file=None if extra is None else base_dir / str(extra),
            )
        producers = table.get("producers")
        if producers is not None and not isinstance(producers, Mapping):
            raise ConfigurationError("[detox.producers] must be a table of producer tables")
        fraction = table.get("deletion_per_iteration", 0.01)
        if not isinstance(fraction, int | float) or not 0 < fraction <= 1:
            raise ConfigurationError(
                f"[detox]: deletion_per_iteration must be in (0, 1], not {fraction!r}"
            )
        protect = table.get("protect_last_copy", True)
        if not isinstance(protect, bool):
            raise ConfigurationError("[detox]: protect_last_copy must be true or false")
        return cls(
            partitions=partitions,
            producers=producers,
            options=DetoxOptions(deletion_per_iteration=float(fraction), protect_last_copy=protect),
            base_dir=base_dir,
            retention=Retention.from_table(_table(table, "history")),
        )


def _table(table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    found = table.get(key, {})
    if not isinstance(found, Mapping):
        raise ConfigurationError(f"[detox.{key}] must be a table")
    return found


def commit_records(
    conn: Connection, records: list[dict[str, Any]], seq: int | None, now: int
) -> None:
    """The server side of a Detox run: inside the commit's transaction, mark each cycle
    committed and queue its deletions."""
    for record in records:
        if record.get("kind") != COMMIT_RECORD:
            raise ConfigurationError(f"not a Detox record: {record.get('kind')!r}")
        commit_cycle(conn, int(record["cycle"]), record["deletions"], log_seq=seq, now=now)
