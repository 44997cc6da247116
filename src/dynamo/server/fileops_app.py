"""The updater as a scheduled application (name ``updater``, as in the original), a thin loop over
:func:`dynamo.fileops.updater.plan_update`.

In the forked child it opens its own database connection, reads the file-operation queue,
plans against its inventory snapshot and returns the ChangeSet with one ``fileops.update``
record: the row changes (subscriptions deleted, released and created, Detox deletions done),
which the server's record sink writes inside the ChangeSet's commit
(:func:`dynamo.fileops.updater.apply_update_records`). A crash anywhere keeps neither.
Run read-only, or with ``dry_run``, it changes nothing and reports what it would do.
Arguments: ``dry_run``, ``default_group`` (owner of replicas created by transfers),
``max_resubscriptions``, ``resubscribe`` (false: skip the scan of every block replica, e.g. in
a frequent schedule beside a slower one that does it). The original ran it every 60 s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from dynamo.fileops.updater import UpdateOptions, plan_update, read_update_input
from dynamo.server.applications import AppContext, AppResult
from dynamo.store import SqlInventoryStore

__all__ = ["UpdaterApp"]


@dataclass(frozen=True, slots=True)
class UpdaterApp:
    """The scheduled updater (see the module docstring)."""

    engine_factory: Callable[[], Engine]  # called in the child
    options: UpdateOptions = field(default_factory=UpdateOptions)
    name: str = "updater"
    writes: bool = True
    description: str = (
        "Folds finished transfers and deletions into the inventory, re-subscribes missing "
        "files, releases held subscriptions."
    )

    def run(self, ctx: AppContext) -> AppResult:
        dry_run = not ctx.writes or bool(ctx.arg("dry_run", False))
        group = ctx.arg("default_group", self.options.default_group)
        options = UpdateOptions(
            default_group=None if group is None else str(group),
            max_resubscriptions=ctx.int_arg(
                "max_resubscriptions", self.options.max_resubscriptions
            ),
            resubscribe=bool(ctx.arg("resubscribe", self.options.resubscribe)),
        )
        engine = self.engine_factory()
        try:
            catalog = SqlInventoryStore(engine, file_cache_blocks=0)
            plan = plan_update(
                ctx.inventory, read_update_input(engine), catalog, now=ctx.now, options=options
            )
        finally:
            engine.dispose()
        summary = {"dry_run": dry_run, **plan.summary()}
        ctx.log.info("update: %s", summary)
        for replica, reason in plan.reasons:
            ctx.log.info("%s: %s", replica, reason)
        if dry_run:
            return AppResult(summary=summary)
        records = [plan.rows.to_record()] if plan.rows else []
        return AppResult(changeset=plan.changeset, records=records, summary=summary)
