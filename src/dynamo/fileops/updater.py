"""The updater: folds finished file operations into the inventory and tidies the queue.

:func:`plan_update` is a pure planner over the subscription rows, the queued replica deletions
and the inventory; it returns an :class:`UpdatePlan`: a ChangeSet and the row changes
(:class:`RowChanges`) that must commit together. :func:`apply_row_changes` makes the row
changes inside the commit's transaction (a :data:`dynamo.store.SideWrite`), so a failure keeps
neither. :func:`run_update` does read, plan and commit on a store (``dynamo transfers update``);
the scheduled application (:mod:`dynamo.server.fileops_app`) returns the row changes as one
``fileops.update`` record, which the server's record sink writes with the ChangeSet.

Rules, per block replica (dataset, block, site) with finished subscriptions:

- the files present at an *incomplete* replica are its ``done`` transfer subscriptions: its
  size and file count become their sums, and the rows are kept until the replica is complete,
  when they are deleted. A complete replica's done transfers are deleted at once;
- a file with both a done transfer and a done deletion at the site: the newer row wins (a tie
  goes to the deletion), the other is deleted;
- ``done`` deletions are consumed: the replica loses their files and bytes and the rows are
  deleted in the same commit (so each counts once). A replica left with no file and nothing
  pending (transfer or deletion) is deleted, and its dataset replica with it when no block
  replica is left; the Detox ``replica_deletions`` row of a replica that is gone with no
  deletion pending becomes ``done``;
- a replica created by done transfers is owned by its dataset replica's group, else by
  ``UpdateOptions.default_group`` if the inventory has it, else by the null group (the
  subscriptions say who asked, not who owns);
- an incomplete replica not owned by the null group whose block has files with no transfer
  subscription (done, pending or cancelled) gets ``new`` transfer subscriptions for them
  (origin ``updater``), unless a deletion of its files is pending or was folded in this run
  (it is being deleted). An incomplete replica that no done
  subscription describes (a partial injection, a complete one that lost a file) is taken to
  hold none of them: its missing files may be copied again;
- held subscriptions are released (status ``new``): ``site_unavailable`` when the site is
  READY again, ``no_source`` (transfers) when another READY site holds the block complete;
  ``all_failed`` only by an operator;
- cancelled subscriptions with no task left are deleted, except a cancelled transfer of an
  incomplete replica that a group still owns: it stays, so that the file an operator
  cancelled is not subscribed again; it goes when the replica completes, is deleted or
  passes to the null group.

The row changes are guarded: a subscription deleted by the plan must still be in the status the
plan saw (and a cancelled one still without task), otherwise :func:`apply_row_changes` raises
StoreError and the whole commit is rolled back; the next run plans again. Subscriptions a
concurrent writer already created are not inserted twice.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from sqlalchemy import Connection, Engine, delete, exists, insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from dynamo.errors import ConfigurationError, StoreError
from dynamo.fileops.ports import HoldReason, OpKind, SubscriptionStatus
from dynamo.model import (
    Block,
    BlockReplica,
    ChangeSet,
    DeleteBlockReplica,
    DeleteDatasetReplica,
    File,
    FileCatalog,
    Inventory,
    Operation,
    SiteStatus,
    UpsertBlockReplica,
    UpsertDatasetReplica,
)
from dynamo.store import SideWrite
from dynamo.store.schema.detox import replica_deletions
from dynamo.store.schema.fileops import fileop_subscriptions, fileop_tasks
from dynamo.store.sqlops import chunks

__all__ = [
    "UPDATE_RECORD",
    "NewSubscription",
    "RowChanges",
    "SubscriptionRow",
    "UpdateInput",
    "UpdateOptions",
    "UpdatePlan",
    "UpdateResult",
    "UpdateStore",
    "apply_row_changes",
    "apply_update_records",
    "plan_update",
    "read_update_input",
    "run_update",
]

UPDATE_RECORD: Final = "fileops.update"
"""The kind of the application record carrying an update's row changes."""

_CHUNK: Final = 1000
_PENDING: Final = frozenset(
    {
        SubscriptionStatus.NEW,
        SubscriptionStatus.INBATCH,
        SubscriptionStatus.RETRY,
        SubscriptionStatus.HELD,
    }
)
Key = tuple[str, str, str]
"""(dataset, block, site) of a block replica."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRow:
    """What the updater reads of a subscription; ``has_task``: a task row references it."""

    id: int
    kind: OpKind
    lfn: str
    site: str
    dataset: str
    block: str
    size: int
    status: SubscriptionStatus
    hold_reason: str | None = None
    updated: int = 0
    has_task: bool = False

    @property
    def key(self) -> Key:
        return (self.dataset, self.block, self.site)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSubscription:
    """A transfer subscription the updater creates for a missing file."""

    lfn: str
    site: str
    dataset: str
    block: str
    size: int
    adler32: str


@dataclass(frozen=True, slots=True)
class UpdateInput:
    """The rows an update plans over: every subscription, and the queued replica deletions."""

    subscriptions: tuple[SubscriptionRow, ...] = ()
    queued_deletions: tuple[Key, ...] = ()


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    """``default_group`` owns replicas created by transfers at a site without a dataset
    replica; ``max_resubscriptions`` bounds the files subscribed again per run;
    ``resubscribe`` False skips the re-subscription, the one step that scans every block
    replica (0.3 s per 400,000 measured here, and a forked child's scan copies the pages it
    touches): a frequent schedule may leave it to a slower one."""

    default_group: str | None = None
    max_resubscriptions: int = 100_000
    resubscribe: bool = True


@dataclass(frozen=True, slots=True)
class RowChanges:
    """Queue rows to change with the ChangeSet. ``deleted``: (id, status seen) pairs;
    ``released``: ids of held rows; ``deletions_done``: replica_deletions keys."""

    deleted: tuple[tuple[int, str], ...] = ()
    released: tuple[int, ...] = ()
    inserted: tuple[NewSubscription, ...] = ()
    deletions_done: tuple[Key, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.deleted or self.released or self.inserted or self.deletions_done)

    def to_record(self) -> dict[str, Any]:
        """The ``fileops.update`` application record (plain lists: msgpack and JSON)."""
        return {
            "kind": UPDATE_RECORD,
            "deleted": [list(pair) for pair in self.deleted],
            "released": list(self.released),
            "inserted": [
                [s.lfn, s.site, s.dataset, s.block, s.size, s.adler32] for s in self.inserted
            ],
            "deletions_done": [list(key) for key in self.deletions_done],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RowChanges:
        if record.get("kind") != UPDATE_RECORD:
            raise ConfigurationError(f"not an updater record: {record.get('kind')!r}")
        return cls(
            deleted=tuple((int(i), str(s)) for i, s in record["deleted"]),
            released=tuple(int(i) for i in record["released"]),
            inserted=tuple(
                NewSubscription(
                    lfn=lfn, site=site, dataset=ds, block=b, size=int(size), adler32=adler32
                )
                for lfn, site, ds, b, size, adler32 in record["inserted"]
            ),
            deletions_done=tuple((d, b, s) for d, b, s in record["deletions_done"]),
        )


@dataclass(frozen=True, slots=True)
class UpdatePlan:
    """The ChangeSet, the row changes, and one reason per decision (``(key, reason)``)."""

    changeset: ChangeSet
    rows: RowChanges
    reasons: tuple[tuple[str, str], ...] = ()

    def summary(self) -> dict[str, int]:
        ops = self.changeset.ops
        return {
            "block_replicas_updated": sum(isinstance(op, UpsertBlockReplica) for op in ops),
            "block_replicas_deleted": sum(isinstance(op, DeleteBlockReplica) for op in ops),
            "dataset_replicas_created": sum(isinstance(op, UpsertDatasetReplica) for op in ops),
            "dataset_replicas_deleted": sum(isinstance(op, DeleteDatasetReplica) for op in ops),
            "subscriptions_deleted": len(self.rows.deleted),
            "subscriptions_released": len(self.rows.released),
            "subscriptions_created": len(self.rows.inserted),
            "replica_deletions_done": len(self.rows.deletions_done),
        }


# ---------------------------------------------------------------------- planning


@dataclass(slots=True)
class _Replica:
    """The finished and pending subscriptions of one block replica."""

    done_transfers: dict[str, SubscriptionRow] = field(default_factory=dict)
    done_deletions: dict[str, SubscriptionRow] = field(default_factory=dict)
    pending_transfers: int = 0
    pending_deletions: int = 0


@dataclass(slots=True)
class _Planner:
    inventory: Inventory
    catalog: FileCatalog
    now: int
    options: UpdateOptions
    ops: list[Operation] = field(default_factory=list)
    deleted: dict[int, str] = field(default_factory=dict)
    released: list[int] = field(default_factory=list)
    inserted: list[NewSubscription] = field(default_factory=list)
    deletions_done: list[Key] = field(default_factory=list)
    reasons: list[tuple[str, str]] = field(default_factory=list)
    sizes: dict[Key, tuple[int, int]] = field(default_factory=dict)  # what the plan set
    gone: set[Key] = field(default_factory=set)  # block replicas the plan deletes
    filled: set[tuple[str, str]] = field(default_factory=set)  # (dataset, site) upserted
    emptied: set[tuple[str, str]] = field(default_factory=set)  # (dataset, site) lost blocks

    def drop(self, row: SubscriptionRow) -> None:
        self.deleted[row.id] = row.status.value

    def why(self, key: Key, reason: str) -> None:
        self.reasons.append((f"{key[0]}#{key[1]}@{key[2]}", reason))


def plan_update(
    inventory: Inventory,
    rows: UpdateInput,
    catalog: FileCatalog,
    *,
    now: int,
    options: UpdateOptions | None = None,
) -> UpdatePlan:
    """Plan one update (see the module docstring); reads files of blocks through ``catalog``
    only for replicas that may need subscriptions again. Changes nothing."""
    planner = _Planner(inventory, catalog, now, options or UpdateOptions())
    by_key: dict[Key, _Replica] = defaultdict(_Replica)
    subscribed: dict[Key, list[SubscriptionRow]] = defaultdict(list)
    for row in rows.subscriptions:
        subscribed[row.key].append(row)
        _tally(by_key[row.key], row)
    for key, state in by_key.items():
        if state.done_transfers or state.done_deletions:
            _fold(planner, key, state)
    for key in rows.queued_deletions:
        _close_deletion(planner, key, by_key.get(key))
    _delete_emptied(planner)
    for row in rows.subscriptions:
        if row.status is SubscriptionStatus.HELD:
            _release(planner, row)
        elif row.status is SubscriptionStatus.CANCELLED and not row.has_task:
            _drop_cancelled(planner, row)
    if planner.options.resubscribe:
        _resubscribe(planner, subscribed)
    return UpdatePlan(
        changeset=ChangeSet(tuple(planner.ops)),
        rows=RowChanges(
            deleted=tuple(sorted(planner.deleted.items())),
            released=tuple(planner.released),
            inserted=tuple(planner.inserted),
            deletions_done=tuple(planner.deletions_done),
        ),
        reasons=tuple(planner.reasons),
    )


def _tally(state: _Replica, row: SubscriptionRow) -> None:
    is_transfer = row.kind is OpKind.TRANSFER
    if row.status is SubscriptionStatus.DONE:
        (state.done_transfers if is_transfer else state.done_deletions)[row.lfn] = row
    elif row.status in _PENDING:
        if is_transfer:
            state.pending_transfers += 1
        else:
            state.pending_deletions += 1


def _fold(p: _Planner, key: Key, state: _Replica) -> None:
    """Fold the done subscriptions of one block replica into the inventory."""
    for lfn in set(state.done_transfers) & set(state.done_deletions):
        transfer, deletion = state.done_transfers[lfn], state.done_deletions[lfn]
        loser = transfer if deletion.updated >= transfer.updated else deletion
        p.drop(loser)
        del (state.done_transfers if loser is transfer else state.done_deletions)[lfn]
    for row in state.done_deletions.values():
        p.drop(row)  # consumed by this commit, counted once
    block = p.inventory.find_block(key[0], key[1])
    site = p.inventory.sites.get(key[2])
    if block is None or site is None:
        for row in state.done_transfers.values():
            p.drop(row)
        p.why(key, "block or site not in the inventory: finished subscriptions dropped")
        return
    replica = block.find_replica(site)
    deleted = list(state.done_deletions.values())
    if replica is not None and replica.is_complete():
        for row in state.done_transfers.values():
            p.drop(row)  # the replica holds every file already
        state.done_transfers.clear()
        if not deleted:
            p.why(key, "complete: done transfers deleted")
            return
        size = block.size - sum(r.size for r in deleted)
        num_files = block.num_files - len(deleted)
    elif state.done_transfers:
        size = sum(r.size for r in state.done_transfers.values())
        num_files = len(state.done_transfers)
    elif replica is None:
        return
    else:
        size = replica.size - sum(r.size for r in deleted)
        num_files = replica.num_files - len(deleted)
    size, num_files = max(0, size), max(0, num_files)
    _settle(p, key, block, replica, state, size, num_files)


def _settle(
    p: _Planner,
    key: Key,
    block: Block,
    replica: BlockReplica | None,
    state: _Replica,
    size: int,
    num_files: int,
) -> None:
    """Give the replica ``size`` bytes in ``num_files`` files: complete, emptied or partial."""
    if block.num_files and num_files >= block.num_files and size >= block.size:
        size, num_files = block.size, block.num_files
        for row in state.done_transfers.values():
            p.drop(row)
        reason = "complete: done transfers deleted"
    elif num_files <= 0:
        if replica is None:
            return
        if state.pending_transfers or state.pending_deletions:
            reason = "no file left, subscriptions pending: kept empty"
            size = num_files = 0
        else:
            _delete_replica(p, key, replica)
            return
    else:
        reason = f"{num_files} of {block.num_files} files present"
    p.sizes[key] = (size, num_files)
    if replica is not None and (replica.size, replica.num_files) == (size, num_files):
        return
    group = replica.group.name if replica is not None else _new_owner(p, key)
    p.filled.add((key[0], key[2]))  # after _new_owner: it upserts the first one only
    p.ops.append(
        UpsertBlockReplica(
            dataset=key[0],
            block=key[1],
            site=key[2],
            group=group,
            is_custodial=replica.is_custodial if replica is not None else False,
            size=size,
            num_files=num_files,
            last_update=p.now,
        )
    )
    p.why(key, reason)


def _new_owner(p: _Planner, key: Key) -> str | None:
    """The owner of a replica created by transfers; upserts its dataset replica if missing."""
    dataset, site = p.inventory.datasets[key[0]], p.inventory.sites[key[2]]
    existing = site.dataset_replicas.get(dataset)
    if existing is not None:
        return existing.group.name
    default = p.options.default_group
    group = default if default in p.inventory.groups else None
    if (key[0], key[2]) not in p.filled:
        p.ops.append(UpsertDatasetReplica(dataset=key[0], site=key[2], group=group))
    return group


def _delete_replica(p: _Planner, key: Key, replica: BlockReplica) -> None:
    p.ops.append(DeleteBlockReplica(dataset=key[0], block=key[1], site=key[2]))
    p.gone.add(key)
    p.why(key, "no file left and nothing pending: block replica deleted")
    p.emptied.add((key[0], key[2]))


def _delete_emptied(p: _Planner) -> None:
    """Delete the dataset replicas left with no block replica (after every fold, so that a
    block replica the plan creates at the same place keeps its dataset replica)."""
    for dataset, site in sorted(p.emptied - p.filled):
        replica = p.inventory.datasets[dataset].replicas[p.inventory.sites[site]]
        if all((dataset, b.name, site) in p.gone for b in replica.block_replicas):
            p.ops.append(DeleteDatasetReplica(dataset=dataset, site=site))
            p.reasons.append((f"{dataset}@{site}", "no block replica left: deleted"))


def _close_deletion(p: _Planner, key: Key, state: _Replica | None) -> None:
    """A queued Detox deletion is done once its replica is gone and no deletion is pending."""
    if state is not None and state.pending_deletions:
        return
    replica = p.inventory.find_block_replica(*key)
    if replica is not None and key not in p.gone:
        if p.sizes.get(key, (replica.size, replica.num_files))[1] > 0:
            return
        if state is not None and state.pending_transfers:
            return
        _delete_replica(p, key, replica)
    p.deletions_done.append(key)
    p.why(key, "replica deletion done")


def _release(p: _Planner, row: SubscriptionRow) -> None:
    site = p.inventory.sites.get(row.site)
    if row.hold_reason == HoldReason.SITE_UNAVAILABLE:
        if site is not None and site.status is SiteStatus.READY:
            p.released.append(row.id)
            p.why(row.key, f"{row.lfn}: site ready again, released")
    elif row.hold_reason == HoldReason.NO_SOURCE and row.kind is OpKind.TRANSFER:
        block = p.inventory.find_block(row.dataset, row.block)
        if block is not None and any(
            r.site.name != row.site and r.site.status is SiteStatus.READY and r.is_complete()
            for r in block.replicas
        ):
            p.released.append(row.id)
            p.why(row.key, f"{row.lfn}: a source is available, released")


def _drop_cancelled(p: _Planner, row: SubscriptionRow) -> None:
    if row.kind is OpKind.TRANSFER and row.key not in p.gone:
        replica = p.inventory.find_block_replica(*row.key)
        if replica is not None and replica.group.name is not None and not _complete(p, replica):
            return  # pins the cancelled file of an owned incomplete replica
    p.drop(row)


def _complete(p: _Planner, replica: BlockReplica) -> bool:
    key = (replica.block.dataset.name, replica.block.name, replica.site.name)
    size, num_files = p.sizes.get(key, (replica.size, replica.num_files))
    return (size, num_files) == (replica.block.size, replica.block.num_files)


def _resubscribe(p: _Planner, subscribed: Mapping[Key, Sequence[SubscriptionRow]]) -> None:
    budget = p.options.max_resubscriptions
    for replica in p.inventory.iter_block_replicas():
        if budget <= 0:
            return
        if replica.group.name is None or _complete(p, replica):
            continue
        block = replica.block
        key = (block.dataset.name, block.name, replica.site.name)
        if key in p.gone:
            continue
        rows = subscribed.get(key, ())
        if any(
            r.kind is OpKind.DELETION and r.status is not SubscriptionStatus.CANCELLED for r in rows
        ):
            continue  # being deleted, at least in part: not to be filled again now
        covered = {r.lfn for r in rows if r.id not in p.deleted}
        if len(covered) >= block.num_files:
            continue
        missing = [f for f in p.catalog.files_of(block) if f.lfn not in covered][:budget]
        for file in missing:
            p.inserted.append(
                NewSubscription(
                    lfn=file.lfn,
                    site=key[2],
                    dataset=key[0],
                    block=key[1],
                    size=file.size,
                    adler32=file.adler32,
                )
            )
        if missing:
            budget -= len(missing)
            p.why(key, f"{len(missing)} missing files subscribed again")


# ---------------------------------------------------------------------- rows


def read_update_input(engine: Engine) -> UpdateInput:
    """Every subscription (with whether a task references it) and the queued Detox deletions."""
    subs = fileop_subscriptions
    has_task = exists().where(fileop_tasks.c.subscription_id == subs.c.id)
    query = select(
        subs.c.id,
        subs.c.kind,
        subs.c.lfn,
        subs.c.site,
        subs.c.dataset,
        subs.c.block,
        subs.c.size,
        subs.c.status,
        subs.c.hold_reason,
        subs.c.updated,
        has_task.label("has_task"),
    ).order_by(subs.c.id)
    queued = (
        select(replica_deletions.c.dataset, replica_deletions.c.block, replica_deletions.c.site)
        .where(replica_deletions.c.status == "queued")
        .distinct()
    )
    try:
        with engine.connect() as conn:
            rows = tuple(
                SubscriptionRow(
                    id=r.id,
                    kind=OpKind(r.kind),
                    lfn=r.lfn,
                    site=r.site,
                    dataset=r.dataset,
                    block=r.block,
                    size=r.size,
                    status=SubscriptionStatus(r.status),
                    hold_reason=r.hold_reason,
                    updated=r.updated,
                    has_task=bool(r.has_task),
                )
                for r in conn.execute(query)
            )
            keys = tuple((d, b, s) for d, b, s in conn.execute(queued))
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read the file-operation queue: {exc}") from exc
    return UpdateInput(subscriptions=rows, queued_deletions=keys)


def apply_row_changes(conn: Connection, changes: RowChanges, *, now: int) -> None:
    """Write ``changes`` in the caller's transaction; StoreError (roll back) if a subscription
    to delete changed since the plan."""
    subs = fileop_subscriptions
    by_status: dict[str, list[int]] = defaultdict(list)
    for id_, status in changes.deleted:
        by_status[status].append(id_)
    for status, ids in by_status.items():
        for batch in chunks(ids, _CHUNK):
            query = delete(subs).where(subs.c.id.in_(batch), subs.c.status == status)
            if status == SubscriptionStatus.CANCELLED:
                query = query.where(~exists().where(fileop_tasks.c.subscription_id == subs.c.id))
            if conn.execute(query).rowcount != len(batch):
                raise StoreError(
                    f"{status} subscriptions changed since the update was planned; "
                    "nothing was applied"
                )
    for batch in chunks(changes.released, _CHUNK):
        conn.execute(
            update(subs)
            .where(subs.c.id.in_(batch), subs.c.status == SubscriptionStatus.HELD)
            .values(status=SubscriptionStatus.NEW.value, hold_reason=None, updated=now)
        )
    _insert_new(conn, changes.inserted, now)
    table = replica_deletions
    for dataset, block, site in changes.deletions_done:
        conn.execute(
            update(table)
            .where(
                table.c.dataset == dataset,
                table.c.block == block,
                table.c.site == site,
                table.c.status.in_(("new", "queued")),
            )
            .values(status="done", updated=now)
        )


def _insert_new(conn: Connection, new: Sequence[NewSubscription], now: int) -> None:
    subs = fileop_subscriptions
    for batch in chunks(new, _CHUNK):
        pairs = [(s.lfn, s.site) for s in batch]
        query = select(subs.c.lfn, subs.c.site).where(
            subs.c.kind == OpKind.TRANSFER.value, tuple_(subs.c.lfn, subs.c.site).in_(pairs)
        )
        taken = {(r.lfn, r.site) for r in conn.execute(query)}
        rows = [
            {
                "kind": OpKind.TRANSFER.value,
                "lfn": s.lfn,
                "site": s.site,
                "dataset": s.dataset,
                "block": s.block,
                "size": s.size,
                "adler32": s.adler32,
                "status": SubscriptionStatus.NEW.value,
                "hold_reason": None,
                "origin": "updater",
                "origin_id": None,
                "created": now,
                "updated": now,
            }
            for s in batch
            if (s.lfn, s.site) not in taken
        ]
        if rows:
            conn.execute(insert(subs), rows)


def apply_update_records(conn: Connection, records: Iterable[Mapping[str, Any]], now: int) -> None:
    """The server side of an updater run: its records' row changes, in the commit's
    transaction."""
    for record in records:
        apply_row_changes(conn, RowChanges.from_record(record), now=now)


# ---------------------------------------------------------------------- one run


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """A run: its plan, the log seq of the commit (None for a dry run or nothing to commit)."""

    plan: UpdatePlan
    seq: int | None
    dry_run: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "seq": self.seq,
            **self.plan.summary(),
            "reasons": [{"replica": k, "reason": r} for k, r in self.plan.reasons],
        }


class UpdateStore(Protocol):
    """What :func:`run_update` needs of a store (SqlInventoryStore has it)."""

    @property
    def engine(self) -> Engine: ...

    def files_of(self, block: Block) -> Sequence[File]: ...

    def commit(
        self, changeset: ChangeSet, inventory: Inventory, *, also: SideWrite | None = None
    ) -> int: ...


def run_update(
    store: UpdateStore,
    inventory: Inventory,
    *,
    now: int | None = None,
    options: UpdateOptions | None = None,
    dry_run: bool = False,
) -> UpdateResult:
    """Read the queue from ``store``'s database, plan, and (unless ``dry_run``) commit the
    ChangeSet to ``store`` and ``inventory`` with the row changes in one transaction."""
    moment = int(time.time()) if now is None else now
    plan = plan_update(
        inventory, read_update_input(store.engine), store, now=moment, options=options
    )
    if dry_run or not (plan.changeset or plan.rows):
        return UpdateResult(plan, None, dry_run)
    rows = plan.rows
    seq = store.commit(
        plan.changeset,
        inventory,
        also=lambda conn, _seq: apply_row_changes(conn, rows, now=moment),
    )
    return UpdateResult(plan, seq if plan.changeset else None, dry_run)
