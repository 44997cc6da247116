"""One sync: read the source, plan against the inventory, commit the ChangeSet whole.

The store's commit validates and persists the ChangeSet in one transaction before applying
it, and the users, job-queue demand and popularity accesses the source gave are written
inside that same transaction (:meth:`ExtraPlan.side_write`), so a sync either lands entirely
or not at all (a rejected plan or a failed write raises and changes nothing). ``dry_run``
plans and reports without committing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from dynamo.model import Inventory
from dynamo.sources.diff import SyncPlan, plan_sync
from dynamo.sources.extras import ExtraPlan, plan_extras
from dynamo.sources.ports import Source, read_snapshot
from dynamo.store import AccessRecord, InventoryStore
from dynamo.store.synced import read_users

__all__ = ["SyncResult", "plan_from_source", "run_sync"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """A sync's plans, the source's name and the log seq it committed (None: not committed)."""

    source: str
    plan: SyncPlan
    since: int | None
    seq: int | None
    extras: ExtraPlan

    @property
    def accesses(self) -> tuple[AccessRecord, ...]:
        return self.extras.accesses

    def to_json(self) -> dict[str, Any]:
        data = self.plan.to_json()
        data["conflicts"] += [c.to_json() for c in self.extras.conflicts]
        return {
            "source": self.source,
            "since": self.since,
            "committed_seq": self.seq,
            **self.extras.to_json(),
            **data,
        }


def plan_from_source(
    source: Source,
    inventory: Inventory,
    *,
    since: int | None,
    engine: Engine,
    store: InventoryStore | None = None,
    default_group: str | None = None,
) -> tuple[SyncPlan, ExtraPlan]:
    """The plans of a full (``since`` None) or incremental sync; users are compared with those
    of ``engine``'s database, files with ``store``'s catalog."""
    snapshot = read_snapshot(source, since)
    plan = plan_sync(
        inventory, snapshot, full=since is None, files=store, default_group=default_group
    )
    stored = read_users(engine) if "users" in snapshot.sections else {}
    extras = plan_extras(inventory, snapshot, stored, full=plan.full)
    return plan, extras


def run_sync(
    source: Source,
    store: InventoryStore,
    inventory: Inventory,
    *,
    engine: Engine,
    since: int | None = None,
    dry_run: bool = False,
    default_group: str | None = None,
) -> SyncResult:
    """Sync ``inventory`` (loaded from ``store``, whose database ``engine`` is) from ``source``;
    commit unless ``dry_run``."""
    plan, extras = plan_from_source(
        source, inventory, since=since, store=store, engine=engine, default_group=default_group
    )
    seq = None
    if not dry_run and (plan.changeset or extras):
        also = extras.side_write(int(time.time()))
        seq = store.commit(plan.changeset, inventory, also=also)
        seq = seq if plan.changeset else None
    return SyncResult(source.name, plan, since, seq, extras)
