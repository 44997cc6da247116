"""One Detox cycle end to end: read the policy, fill attributes, plan, record the history.

:func:`run_cycle` is what both the scheduled application and ``dynamo detox run`` call. It reads
the policy file (and the partitions file, if one is configured) at every cycle, so an edit takes
effect at the next one; a policy that no longer parses leaves the last good policy (the newest
recorded cycle's) in force, and the cycle records the error, which the API shows. The returned
ChangeSet is what committing the cycle does to the inventory: changed partition definitions
first, then the null-group hand-over of the deleted block replicas.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dynamo.detox.collector import collector_paused
from dynamo.detox.history import deletion_rows, last_policy, record_cycle, record_failed_cycle
from dynamo.detox.plan import DetoxOptions, DetoxPlan
from dynamo.detox.planner import plan
from dynamo.detox.retention import Retention, prune_history
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.model import ChangeSet, Inventory, UpsertPartition
from dynamo.policy import (
    Attributes,
    DetoxPolicy,
    compile_policy,
    load_partitions,
    parse_policy,
)
from dynamo.producers import (
    ProducerSources,
    build_producers,
    check_policy_producers,
    default_producer_config,
)

COMMIT_RECORD = "detox.commit"
"""The kind of the application record that commits a cycle."""

__all__ = ["COMMIT_RECORD", "CycleResult", "PolicySource", "load_policy", "run_cycle"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a partition's policy comes from: its file, and optionally the partitions file."""

    partition: str
    policy_file: Path
    partitions_file: Path | None = None


@dataclass(frozen=True, slots=True)
class CycleResult:
    """A planned cycle: the plan, its history id (None without a database), the ChangeSet that
    commits it, the policy problem if the last good policy was used, and timings in seconds."""

    plan: DetoxPlan
    cycle_id: int | None
    changeset: ChangeSet
    policy_text: str
    policy_error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def commit_record(self) -> dict[str, Any]:
        """The application record that commits this cycle (see :func:`commit_records`)."""
        return {
            "kind": COMMIT_RECORD,
            "cycle": self.cycle_id,
            "deletions": deletion_rows(self.plan.deletions),
        }

    def to_json(self) -> dict[str, Any]:
        """The cycle as ``dynamo detox run --json`` prints it."""
        return {
            "cycle": self.cycle_id,
            **self.plan.summary(),
            "policy_error": self.policy_error,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "sites": [site.to_json() for site in self.plan.sites],
        }


def load_policy(source: PolicySource, engine: Engine | None) -> tuple[DetoxPolicy, str, str | None]:
    """(policy, its text, the error that made it fall back to the last good one, or None).

    ConfigurationError when the file does not parse and no earlier cycle left a good policy.
    """
    path = source.policy_file
    try:
        text = path.read_text(encoding="utf-8")
        policy = parse_policy(text, file=str(path))
        _check_partition(policy, source)
        return policy, text, None
    except (OSError, UnicodeDecodeError, DynamoError) as exc:
        error = str(exc)
    fallback = last_policy(engine, source.partition) if engine is not None else None
    if fallback is None:
        raise ConfigurationError(
            f"policy of partition {source.partition!r} is unusable and no earlier cycle left "
            f"a good one: {error}"
        )
    log.error("policy %s is unusable, the last good policy stays in force: %s", path, error)
    text, file = fallback
    return parse_policy(text, file=file or "<last good policy>"), text, error


def _check_partition(policy: DetoxPolicy, source: PolicySource) -> None:
    if policy.partition is not None and policy.partition != source.partition:
        raise ConfigurationError(
            f"{source.policy_file}: the policy is for partition {policy.partition!r}, "
            f"configured for {source.partition!r}"
        )


def partition_changes(inventory: Inventory, source: PolicySource) -> ChangeSet:
    """The partitions file's definitions that differ from the inventory's (empty if none)."""
    if source.partitions_file is None:
        return ChangeSet()
    path = source.partitions_file
    defined = load_partitions(path.read_text(encoding="utf-8"), file=str(path))
    changed = []
    for op in defined.ops:
        assert isinstance(op, UpsertPartition)
        current = inventory.partitions.get(op.name)
        if (
            current is None
            or current.condition_text != op.condition
            or tuple(p.name for p in current.subpartitions) != op.subpartitions
        ):
            changed.append(op)
    return ChangeSet(tuple(changed))


def run_cycle(
    inventory: Inventory,
    source: PolicySource,
    *,
    now: int,
    engine: Engine | None,
    producers: Mapping[str, Mapping[str, Any]] | None = None,
    base_dir: Path | None = None,
    options: DetoxOptions | None = None,
    dry_run: bool = False,
    run_id: int | None = None,
    retention: Retention | None = None,
) -> CycleResult:
    """Plan one cycle of ``source.partition`` on ``inventory`` and record it (see the module
    docstring). ``inventory`` must be private to the caller: changed partition definitions are
    applied to it before planning. The cyclic garbage collector is paused meanwhile
    (:mod:`dynamo.detox.collector`)."""
    with collector_paused():
        return _run_cycle(
            inventory,
            source,
            now=now,
            engine=engine,
            producers=producers,
            base_dir=base_dir,
            options=options,
            dry_run=dry_run,
            run_id=run_id,
            retention=retention,
        )


def _run_cycle(
    inventory: Inventory,
    source: PolicySource,
    *,
    now: int,
    engine: Engine | None,
    producers: Mapping[str, Mapping[str, Any]] | None,
    base_dir: Path | None,
    options: DetoxOptions | None,
    dry_run: bool,
    run_id: int | None,
    retention: Retention | None,
) -> CycleResult:
    options = options or DetoxOptions()
    started = time.time()
    seconds: dict[str, float] = {}
    policy, text, error = load_policy(source, engine)
    try:
        partitions = partition_changes(inventory, source)
        if partitions:
            log.info("partitions file changed %d definitions", len(partitions))
            inventory.apply(partitions)
        sources = ProducerSources(engine=engine, base_dir=base_dir or source.policy_file.parent)
        config = producers if producers is not None else default_producer_config()
        built = build_producers(config, sources)
        check_policy_producers(policy, built, file=str(source.policy_file))
        attributes = Attributes()
        for producer in built:
            mark = time.perf_counter()
            producer.load(inventory, attributes, now)
            seconds[f"producer {type(producer).__name__}"] = time.perf_counter() - mark
        if source.partition not in inventory.partitions:
            raise ConfigurationError(f"no partition named {source.partition!r} is defined")
        compiled = compile_policy(policy, now=now)
        mark = time.perf_counter()
        result = plan(
            inventory,
            compiled,
            inventory.partitions[source.partition],
            attributes,
            now=now,
            options=options,
        )
        seconds["plan"] = time.perf_counter() - mark
    except DynamoError as exc:
        if engine is not None and not dry_run:
            record_failed_cycle(
                engine,
                partition=source.partition,
                policy_text=text,
                policy_file=str(source.policy_file),
                error=str(exc),
                started=int(started),
                finished=int(time.time()),
                run_id=run_id,
            )
        raise
    _log_plan(result)
    cycle_id = None
    if engine is not None:
        mark = time.perf_counter()
        cycle_id = record_cycle(
            engine,
            result,
            policy,
            policy_text=text,
            policy_file=str(source.policy_file),
            policy_error=error,
            dry_run=dry_run,
            started=int(started),
            finished=int(time.time()),
            run_id=run_id,
        )
        prune_history(engine, source.partition, now=now, retention=retention)
        seconds["history"] = time.perf_counter() - mark
    changeset = ChangeSet() if dry_run else partitions + result.changeset()
    return CycleResult(result, cycle_id, changeset, text, error, seconds)


def _log_plan(result: DetoxPlan) -> None:
    counts = result.counts()
    log.info(
        "partition %s: %d iterations, %d evaluations; delete %d, keep %d, protect %d; "
        "%d block replicas (%.1f TB) to delete; the safety rule kept %d",
        result.partition,
        result.iterations,
        result.evaluations,
        counts["delete"],
        counts["keep"],
        counts["protect"],
        len(result.deletions),
        result.deleted_bytes / 1e12,
        result.safety_bites,
    )
    for site in result.sites:
        if site.triggered:
            log.info(
                "site %s: %.1f%% -> %.1f%% of %.1f TB%s",
                site.name,
                100 * site.occupancy_before,
                100 * site.occupancy_after,
                site.quota_bytes / 1e12,
                f" ({site.stop_reason})" if site.stop_reason else "",
            )
