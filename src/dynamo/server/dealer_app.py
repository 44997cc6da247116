"""The Dealer as a scheduled application (name ``dealer``), a thin loop over
:func:`dynamo.dealer.run_cycle`.

In the forked child it opens its own database connection, reads the open copy requests, the
job-queue demand, the sites' transfer record and the latest Detox cycle, plans, records the
cycle and returns the ChangeSet of new incomplete replicas with a ``dealer.commit`` record,
which the server commits together (the cycle marked committed, the transfers subscribed). The
configuration is ``--config FILE`` (the CMS JSON shape) or the app's default; ``--seed N``
fixes the randomness (default: the run id). Run read-only, or with ``--dry-run``, it records a
test cycle and changes nothing.

The copy requests are moved on by the child, before the server commits: should the commit
fail, an activated request's copies are found missing and proposed again after the grace
period, as for a replica that vanished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from dynamo.dealer import DealerConfig, apply_request_updates, load_dealer_config, run_cycle
from dynamo.server.applications import AppContext, AppResult
from dynamo.store.registry import SqlRegistryStore

__all__ = ["DealerApp"]


@dataclass(frozen=True, slots=True)
class DealerApp:
    """The scheduled Dealer application (see the module docstring)."""

    engine_factory: Callable[[], Engine]  # called in the child
    config: DealerConfig = field(default_factory=DealerConfig)
    name: str = "dealer"
    writes: bool = True
    description: str = "Places copies by requests, rules, popularity, balance and evacuation."

    def run(self, ctx: AppContext) -> AppResult:
        path = ctx.arg("config")
        config = self.config if path is None else load_dealer_config(Path(str(path)))
        dry_run = not ctx.writes or bool(ctx.arg("dry_run", False))
        engine: Engine = self.engine_factory()
        try:
            registry = SqlRegistryStore(engine)
            result = run_cycle(
                ctx.inventory,
                config,
                now=ctx.now,
                engine=engine,
                registry=registry,
                dry_run=dry_run,
                run_id=ctx.run_id,
                seed=ctx.int_arg("seed", ctx.run_id) % 2**31,
            )
            if not dry_run:
                apply_request_updates(registry, result.request_updates)
        finally:
            engine.dispose()
        ctx.log.info("Dealer cycle %s: %s", result.cycle_id, result.plan.summary())
        summary = result.to_json()
        summary.pop("copies_placed")
        return AppResult(
            changeset=result.changeset,
            records=[] if dry_run else [result.commit_record()],
            summary={"dry_run": dry_run, **summary},
        )
