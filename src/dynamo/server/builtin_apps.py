"""Applications shipped with the server, for operators and for tests of the scheduler.

- ``noop`` (read): does nothing; checks that the runner and the schedule work.
- ``sleep`` (read): sleeps ``seconds`` (default 1) in small steps; exercises time limits and kills.
- ``inventory-stats`` (read): counts objects and sums bytes per site and per dataset status.
- ``set-dataset-status`` (write): sets ``status`` on the datasets matching the glob ``datasets``
  (at most ``limit``, default 1000, else the run fails), e.g. to invalidate a campaign.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase

from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet, DatasetStatus, UpsertDataset
from dynamo.server.applications import AppContext, ApplicationRegistry, AppResult

__all__ = [
    "InventoryStatsApp",
    "NoopApp",
    "SetDatasetStatusApp",
    "SleepApp",
    "builtin_registry",
]


@dataclass(frozen=True, slots=True)
class NoopApp:
    name: str = "noop"
    writes: bool = False
    description: str = "Does nothing and succeeds (checks the runner and the schedule)."

    def run(self, ctx: AppContext) -> AppResult:
        ctx.log.info("noop run %d at %d", ctx.run_id, ctx.now)
        return AppResult(summary={"ok": True})


@dataclass(frozen=True, slots=True)
class SleepApp:
    name: str = "sleep"
    writes: bool = False
    description: str = "Sleeps `seconds` (default 1); for time limits and kills."

    def run(self, ctx: AppContext) -> AppResult:
        seconds = ctx.float_arg("seconds", 1.0)
        ctx.log.info("sleeping %.1f s", seconds)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
        return AppResult(summary={"slept_seconds": seconds})


@dataclass(frozen=True, slots=True)
class InventoryStatsApp:
    name: str = "inventory-stats"
    writes: bool = False
    description: str = "Object counts, bytes per site and per dataset status (a full scan)."

    def run(self, ctx: AppContext) -> AppResult:
        inventory = ctx.inventory
        by_site: Counter[str] = Counter()
        replicas_by_site: Counter[str] = Counter()
        for replica in inventory.iter_block_replicas():
            by_site[replica.site.name] += replica.size
            replicas_by_site[replica.site.name] += 1
        by_status: Counter[str] = Counter()
        datasets_by_status: Counter[str] = Counter()
        for dataset in inventory.datasets.values():
            by_status[dataset.status.name] += dataset.size
            datasets_by_status[dataset.status.name] += 1
        summary = {
            "counts": inventory.counts(),
            "bytes_by_site": dict(sorted(by_site.items())),
            "block_replicas_by_site": dict(sorted(replicas_by_site.items())),
            "bytes_by_dataset_status": dict(sorted(by_status.items())),
            "datasets_by_status": dict(sorted(datasets_by_status.items())),
        }
        ctx.log.info("counts: %s", summary["counts"])
        return AppResult(summary=summary)


@dataclass(frozen=True, slots=True)
class SetDatasetStatusApp:
    name: str = "set-dataset-status"
    writes: bool = True
    description: str = (
        "Sets `status` (e.g. INVALID) on the datasets matching the glob `datasets` "
        "(at most `limit`, default 1000)."
    )

    def run(self, ctx: AppContext) -> AppResult:
        pattern = ctx.arg("datasets")
        status_name = ctx.arg("status")
        if not isinstance(pattern, str) or not isinstance(status_name, str):
            raise ConfigurationError("arguments 'datasets' (a glob) and 'status' are required")
        try:
            status = DatasetStatus[status_name.upper()]
        except KeyError:
            choices = ", ".join(s.name for s in DatasetStatus)
            raise ConfigurationError(f"unknown status {status_name!r}; one of {choices}") from None
        limit = ctx.int_arg("limit", 1000)
        matched = sorted(
            (d for d in ctx.inventory.datasets.values() if fnmatchcase(d.name, pattern)),
            key=lambda d: d.name,
        )
        if len(matched) > limit:
            raise ConfigurationError(
                f"{len(matched)} datasets match {pattern!r}, more than limit={limit}"
            )
        ops = [
            UpsertDataset(
                name=d.name,
                status=status,
                data_type=d.data_type,
                software_version=d.software_version,
                last_update=ctx.now,
                is_open=d.is_open,
            )
            for d in matched
            if d.status is not status
        ]
        for op in ops:
            ctx.log.info("%s -> %s", op.name, status.name)
        summary = {"matched": len(matched), "changed": len(ops), "status": status.name}
        return AppResult(changeset=ChangeSet.of(ops), summary=summary)


def builtin_registry() -> ApplicationRegistry:
    """A registry holding the applications of this module."""
    registry = ApplicationRegistry()
    for app in (NoopApp(), SleepApp(), InventoryStatsApp(), SetDatasetStatusApp()):
        registry.register(app)
    return registry
