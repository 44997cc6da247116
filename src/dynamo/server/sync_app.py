"""The sync from an outside source as a scheduled application (name ``sync``).

In the forked child it reads the source named by the ``source`` argument (an http(s) URL,
a JSON file, a directory of CSV files or a Rucio server, ``docs/sources.md``), plans
against the frozen inventory and returns the one ChangeSet, which the server commits whole,
with the users, job-queue demand and popularity accesses the source gave as a record the
server's record sink writes in the same transaction; the conflicts and their resolutions are
in the run's summary and log. Arguments::

    source          URL, file or directory (required)
    since           incremental: changes since this epoch time
    window          incremental: changes in the last WINDOW seconds (since = now - window)
    default_group   the group of new replicas the source gives none
    dry_run         plan and report only

Without ``since`` and ``window`` the sync is full. The app keeps no state: a delta schedule
with ``window`` longer than its interval overlaps the previous run, which is harmless (the
plan only holds what differs), and a failed commit is caught up by the next run. As in the
original Dynamo, run deltas often (``every = 60, args = {source = ..., window = 600}``) and a
full sync rarely (``every = 1209600``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from dynamo.errors import ConfigurationError
from dynamo.server.applications import AppContext, AppResult
from dynamo.sources import SyncResult, open_source, plan_from_source
from dynamo.store import SqlInventoryStore

__all__ = ["SyncApp"]


@dataclass(frozen=True, slots=True)
class SyncApp:
    """The scheduled sync application (see the module docstring)."""

    engine_factory: Callable[[], Engine]  # called in the child, for the file catalog
    name: str = "sync"
    writes: bool = True
    description: str = "Syncs datasets, replicas, sites and groups from an outside source."

    def run(self, ctx: AppContext) -> AppResult:
        spec = ctx.arg("source")
        if not isinstance(spec, str) or not spec:
            raise ConfigurationError("the sync application needs a 'source' argument")
        dry_run = not ctx.writes or bool(ctx.arg("dry_run", False))
        since = _since(ctx)
        group = ctx.arg("default_group")
        source = open_source(spec, os.environ)
        engine = self.engine_factory()
        try:
            catalog = SqlInventoryStore(engine, file_cache_blocks=0)
            plan, extras = plan_from_source(
                source,
                ctx.inventory,
                since=since,
                engine=engine,
                store=catalog,
                default_group=None if group is None else str(group),
            )
        finally:
            engine.dispose()
            source.close()
        result = SyncResult(source.name, plan, since, None, extras)
        for conflict in plan.conflicts + extras.conflicts:
            ctx.log.warning("%s %s: %s", conflict.kind, conflict.subject, conflict.resolution)
        summary = {"dry_run": dry_run, **result.to_json()}
        summary.pop("committed_seq")
        ctx.log.info("sync from %s: %s operations", source.name, len(plan.changeset))
        if dry_run:
            return AppResult(summary=summary)
        record = extras.record()
        records = [] if record is None else [record]
        return AppResult(changeset=plan.changeset, records=records, summary=summary)


def _since(ctx: AppContext) -> int | None:
    if ctx.arg("since") is not None:
        return ctx.int_arg("since", 0)
    if ctx.arg("window") is not None:
        return ctx.now - ctx.int_arg("window", 0)
    return None
