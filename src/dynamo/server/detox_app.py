"""Detox as a scheduled application (name ``detox``), a thin loop over :func:`run_cycle`.

One cycle per partition (``--partition NAME``, default: every configured one; ``--policy FILE``
plans a partition that is not configured). In the forked child it opens its own database
connection, plans, records each cycle's history and returns the ChangeSet with a
``detox.commit`` record per cycle, which the server commits together
(:func:`dynamo.detox.commit_records`). Run read-only, or with ``--dry-run``, it records test
cycles and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dynamo.detox import DetoxConfig, DetoxOptions, PolicySource, run_cycle
from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet
from dynamo.server.applications import AppContext, AppResult

__all__ = ["DetoxApp"]


@dataclass(frozen=True, slots=True)
class DetoxApp:
    """The scheduled Detox application (see the module docstring)."""

    config: DetoxConfig
    engine_factory: Callable[[], Engine]  # called in the child
    name: str = "detox"
    writes: bool = True
    description: str = "Deletes replicas by policy between each site's watermarks."

    def run(self, ctx: AppContext) -> AppResult:
        sources = self._sources(ctx)
        dry_run = not ctx.writes or bool(ctx.arg("dry_run", False))
        engine: Engine = self.engine_factory()
        options = DetoxOptions(
            deletion_per_iteration=self.config.options.deletion_per_iteration,
            protect_last_copy=self.config.options.protect_last_copy,
            seed=ctx.int_arg("seed", ctx.run_id),
        )
        changeset: list[Any] = []
        records = []
        cycles = []
        try:
            for source in sources:
                result = run_cycle(
                    ctx.inventory,
                    source,
                    now=ctx.now,
                    engine=engine,
                    producers=self.config.producers,
                    base_dir=self.config.base_dir,
                    options=options,
                    dry_run=dry_run,
                    run_id=ctx.run_id,
                    retention=self.config.retention,
                )
                ctx.log.info(
                    "cycle %s of %s: %s", result.cycle_id, source.partition, result.plan.summary()
                )
                changeset += result.changeset.ops
                cycles.append(result.to_json())
                if not dry_run:
                    records.append(result.commit_record())
        finally:
            engine.dispose()
        return AppResult(
            changeset=ChangeSet(tuple(changeset)),
            records=records,
            summary={"dry_run": dry_run, "cycles": cycles},
        )

    def _sources(self, ctx: AppContext) -> list[PolicySource]:
        partition = ctx.arg("partition")
        policy = ctx.arg("policy")
        if policy is not None:
            if not isinstance(partition, str):
                raise ConfigurationError("--policy needs --partition NAME")
            partitions = ctx.arg("partitions")
            return [
                PolicySource(
                    partition=partition,
                    policy_file=Path(str(policy)),
                    partitions_file=None if partitions is None else Path(str(partitions)),
                )
            ]
        if partition is None:
            if not self.config.partitions:
                raise ConfigurationError(
                    "no Detox partition is configured ([detox.partitions.NAME]); "
                    "give --partition NAME --policy FILE"
                )
            return list(self.config.partitions.values())
        if partition not in self.config.partitions:
            known = ", ".join(self.config.partitions) or "none"
            raise ConfigurationError(
                f"partition {partition!r} has no Detox configuration (configured: {known})"
            )
        return [self.config.partitions[partition]]
