"""The sections a sync writes besides the inventory: users, job-queue demand, popularity.

All three are written inside the inventory commit's transaction (:meth:`ExtraPlan.side_write`),
so a sync lands whole or not at all.

Pure planning against what the store holds (``dynamo.store.synced``); conflicts reported with
their resolution (``docs/sources.md``, "Users and demand"):

- users are keyed by name and whole: a listed user's grants become the listed ones (added and
  revoked), unless the source gives ``roles`` None (it does not know Dynamo's roles, as
  Rucio): then Dynamo's grants are kept. A new user is added with its DN.
- ``user_dn_differs``: a known user listed with another DN -- skipped (Dynamo's DN and grants
  kept: an identity changes by hand, ``dynamo admin user``); ``dn_taken``: a new user whose
  DN another user has -- skipped; ``user_missing_upstream`` (full sync): kept with its grants
  (users are never deleted by a sync).
- demand rows of a dataset neither the inventory nor the snapshot knows are skipped
  (``unknown_dataset``); a full (or whole) read replaces the stored demand, an incremental
  one upserts its rows by (dataset, queued); rows of one key are summed.
- popularity entries are checked as the store's access records (a day at 00:00 UTC, counts
  not negative, names the columns hold): one that is not refuses the read whole
  (SourceFormatError), before anything is written. They are upserted by (dataset, site, day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dynamo.model import Inventory
from dynamo.sources.diff import Conflict
from dynamo.sources.records import Snapshot, SourceAccess
from dynamo.sources.schema import SourceFormatError
from dynamo.store.popularity import AccessRecord, AccessRecordError
from dynamo.store.ports import SideWrite
from dynamo.store.synced import (
    DemandChanges,
    StoredUser,
    UserChanges,
    synced_record,
    write_synced,
)

__all__ = ["ExtraPlan", "access_records", "plan_demand", "plan_extras", "plan_users"]


@dataclass(frozen=True, slots=True)
class ExtraPlan:
    """What a sync writes besides the inventory's ChangeSet (None: the section is absent)."""

    accesses: tuple[AccessRecord, ...] = ()
    users: UserChanges | None = None
    demand: DemandChanges | None = None
    conflicts: tuple[Conflict, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.users) or self.demand is not None or bool(self.accesses)

    def side_write(self, now: int) -> SideWrite | None:
        """The writes to make inside the inventory commit's transaction (None: nothing)."""
        if not self:
            return None
        return lambda conn, _seq: write_synced(
            conn, self.users, self.demand, now=now, accesses=self.accesses
        )

    def record(self) -> dict[str, Any] | None:
        """The same as a JSON-able record (a scheduled run's result; None: nothing)."""
        return synced_record(self.users, self.demand, self.accesses) if self else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accesses_read": len(self.accesses)}
        if self.users is not None:
            out["users"] = {
                "added": len(self.users.add),
                "granted": len(self.users.grant),
                "revoked": len(self.users.revoke),
            }
        if self.demand is not None:
            out["demand"] = {"rows": len(self.demand.rows), "replace": self.demand.replace}
        return out


def plan_extras(
    inventory: Inventory,
    snapshot: Snapshot,
    stored_users: Mapping[str, StoredUser],
    *,
    full: bool,
) -> ExtraPlan:
    """Users and demand of ``snapshot`` against the store; the accesses as records."""
    users, user_conflicts = plan_users(stored_users, snapshot, full=full)
    demand, demand_conflicts = plan_demand(inventory, snapshot, full=full)
    accesses = access_records(snapshot.accesses)
    return ExtraPlan(accesses, users, demand, user_conflicts + demand_conflicts)


def access_records(accesses: Sequence[SourceAccess]) -> tuple[AccessRecord, ...]:
    """The store's records of a popularity section; SourceFormatError naming the first entry
    the store cannot hold (nothing of the sync is written then)."""
    records = []
    for index, access in enumerate(accesses):
        try:
            records.append(AccessRecord(access.dataset, access.site, access.day, access.accesses))
        except AccessRecordError as exc:
            raise SourceFormatError(f"popularity[{index}]: {exc}") from exc
    return tuple(records)


def plan_users(
    stored: Mapping[str, StoredUser], snapshot: Snapshot, *, full: bool
) -> tuple[UserChanges | None, tuple[Conflict, ...]]:
    """The user changes of the module's rules (None when the source has no ``users``)."""
    if "users" not in snapshot.sections:
        return None, ()
    conflicts: list[Conflict] = []
    owner = {user.dn: user.name for user in stored.values()}
    add: list[tuple[str, str]] = []
    grant: list[tuple[str, str, str]] = []
    revoke: list[tuple[str, str, str]] = []
    listed: set[str] = set()
    for user in snapshot.users:
        if user.name in listed:
            continue
        listed.add(user.name)
        known = stored.get(user.name)
        current: frozenset[tuple[str, str]] = frozenset()
        if known is not None and known.dn != user.dn:
            conflicts.append(
                Conflict("user_dn_differs", user.name, f"skipped: Dynamo's DN {known.dn} kept")
            )
            continue
        if known is None:
            if owner.get(user.dn, user.name) != user.name:
                conflicts.append(
                    Conflict("dn_taken", user.name, f"skipped: {owner[user.dn]} has {user.dn}")
                )
                continue
            owner[user.dn] = user.name
            add.append((user.name, user.dn))
        else:
            current = known.grants
        if user.roles is None:
            continue
        wanted = frozenset(user.roles)
        grant += [(user.name, r, t) for r, t in sorted(wanted - current)]
        revoke += [(user.name, r, t) for r, t in sorted(current - wanted)]
    if full or "users" in snapshot.whole:
        for name in sorted(set(stored) - listed):
            conflicts.append(Conflict("user_missing_upstream", name, "kept with its grants"))
    return UserChanges(tuple(add), tuple(grant), tuple(revoke)), tuple(conflicts)


def plan_demand(
    inventory: Inventory, snapshot: Snapshot, *, full: bool
) -> tuple[DemandChanges | None, tuple[Conflict, ...]]:
    """The demand rows to store (None when the source has no ``demand``)."""
    if "demand" not in snapshot.sections:
        return None, ()
    known = set(inventory.datasets) | {dataset.name for dataset in snapshot.datasets}
    rows: dict[tuple[str, int], int] = {}
    unknown: set[str] = set()
    for record in snapshot.demand:
        if record.dataset not in known:
            unknown.add(record.dataset)
            continue
        key = (record.dataset, record.queued)
        rows[key] = rows.get(key, 0) + record.jobs
    conflicts = tuple(
        Conflict("unknown_dataset", f"demand for {name}", "skipped") for name in sorted(unknown)
    )
    changes = DemandChanges(
        rows=tuple((d, q, jobs) for (d, q), jobs in sorted(rows.items())),
        replace=full or "demand" in snapshot.whole,
    )
    return changes, conflicts
