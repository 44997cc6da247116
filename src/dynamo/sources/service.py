"""One sync: read the source, plan against the inventory, commit the ChangeSet whole.

The store's commit validates and persists the ChangeSet in one transaction before applying
it, so a sync either lands entirely or not at all (a rejected plan raises and changes
nothing). ``dry_run`` plans and reports without committing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from dynamo.model import Inventory
from dynamo.sources.diff import SyncPlan, plan_sync
from dynamo.sources.ports import Source, read_snapshot
from dynamo.sources.records import SourceAccess
from dynamo.store import AccessRecord, InventoryStore, record_accesses

__all__ = ["SyncResult", "plan_from_source", "record_popularity", "run_sync"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """A sync's plan, the source's name and the log seq it committed (None: not committed)."""

    source: str
    plan: SyncPlan
    since: int | None
    seq: int | None
    accesses: tuple[SourceAccess, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "since": self.since,
            "committed_seq": self.seq,
            "accesses_read": len(self.accesses),
            **self.plan.to_json(),
        }


def plan_from_source(
    source: Source,
    inventory: Inventory,
    *,
    since: int | None,
    store: InventoryStore | None = None,
    default_group: str | None = None,
) -> tuple[SyncPlan, tuple[SourceAccess, ...]]:
    """The plan of a full (``since`` None) or incremental sync, and the accesses read."""
    snapshot = read_snapshot(source, since)
    plan = plan_sync(
        inventory, snapshot, full=since is None, files=store, default_group=default_group
    )
    return plan, snapshot.accesses


def run_sync(
    source: Source,
    store: InventoryStore,
    inventory: Inventory,
    *,
    since: int | None = None,
    dry_run: bool = False,
    default_group: str | None = None,
) -> SyncResult:
    """Sync ``inventory`` (loaded from ``store``) from ``source``; commit unless ``dry_run``."""
    plan, accesses = plan_from_source(
        source, inventory, since=since, store=store, default_group=default_group
    )
    seq = None
    if not dry_run and plan.changeset:
        seq = store.commit(plan.changeset, inventory)
    return SyncResult(source.name, plan, since, seq, accesses)


def record_popularity(engine: Engine, accesses: Iterable[SourceAccess]) -> int:
    """Store the accesses a source reported (upserts by dataset, site and day, so a re-read
    day replaces its counts); returns how many. Separate from the inventory's ChangeSet: the
    popularity table is not part of the inventory, and re-recording is harmless."""
    records = [
        AccessRecord(dataset=a.dataset, site=a.site, day=a.day, num_accesses=a.accesses)
        for a in accesses
    ]
    return record_accesses(engine, records) if records else 0
