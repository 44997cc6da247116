"""Asking for files to be at a site, or gone from it: subscriptions, cancellation, release.

Rules (the original's, kept):

- one row per (file, site, kind); subscribing again is a no-op while the row is pending (new,
  inbatch, retry, held) and revives a cancelled row as ``new``;
- a *done* row stays done (the effect is there), unless the opposite kind is done or in a
  batch (it may have undone the effect): then it is reset to ``new``;
- a transfer cancels the pending deletion of the same file at the same site, and vice versa
  (an ``inbatch`` opposite is cancelled too; the manager then cancels its task);
- rows are never deleted here: done and cancelled rows are folded into the inventory and
  removed by the updater.

Every function takes a Connection inside the caller's transaction, so that a request and its
subscriptions commit together. ``now`` is epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, insert, select, update

from dynamo.fileops.ports import HoldReason, OpKind, SubscriptionStatus
from dynamo.store.schema import blocks, datasets, files
from dynamo.store.schema.fileops import fileop_failures, fileop_subscriptions
from dynamo.store.sqlops import chunks, is_any_of, lookup_chunk

__all__ = [
    "PENDING",
    "FileRef",
    "SubscribeSummary",
    "block_files",
    "cancel",
    "cancel_files",
    "release",
    "subscribe",
    "subscribe_block",
]

PENDING: frozenset[str] = frozenset(
    {
        SubscriptionStatus.NEW,
        SubscriptionStatus.INBATCH,
        SubscriptionStatus.RETRY,
        SubscriptionStatus.HELD,
    }
)
"""Statuses of a subscription that is still to be acted on."""

_subs = fileop_subscriptions
_UNDOING = frozenset({SubscriptionStatus.INBATCH, SubscriptionStatus.DONE})
"""An opposite subscription in these states may have undone a done one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRef:
    """A file as the queue records it (copied in, so the queue needs no inventory join)."""

    lfn: str
    dataset: str
    block: str
    size: int
    adler32: str


@dataclass(slots=True, kw_only=True)
class SubscribeSummary:
    """What :func:`subscribe` did."""

    created: int = 0
    revived: int = 0
    unchanged: int = 0
    cancelled_opposite: int = 0


def _opposite(kind: OpKind) -> OpKind:
    return OpKind.DELETION if kind is OpKind.TRANSFER else OpKind.TRANSFER


def subscribe(
    conn: Connection,
    kind: OpKind,
    site: str,
    refs: Iterable[FileRef],
    *,
    origin: str,
    origin_id: int | None = None,
    now: int,
) -> SubscribeSummary:
    """Subscribe every file of ``refs`` at ``site`` (see the module docstring for the rules)."""
    summary = SubscribeSummary()
    opposite = _opposite(kind)
    for batch in chunks(refs, lookup_chunk(conn)):
        by_lfn = {ref.lfn: ref for ref in batch}
        existing = _rows(conn, site, list(by_lfn))
        to_insert, to_revive, to_cancel = [], [], []
        for lfn, ref in by_lfn.items():
            own = existing.get((lfn, kind))
            other = existing.get((lfn, opposite))
            if other is not None and other[1] in PENDING:
                to_cancel.append(other[0])
            if own is None:
                to_insert.append(_row(kind, site, ref, origin, origin_id, now))
            elif own[1] == SubscriptionStatus.CANCELLED or (
                own[1] == SubscriptionStatus.DONE and other is not None and other[1] in _UNDOING
            ):
                to_revive.append(own[0])
            else:
                summary.unchanged += 1
        if to_insert:
            conn.execute(insert(_subs), to_insert)
        summary.created += len(to_insert)
        summary.revived += _set_status(conn, to_revive, SubscriptionStatus.NEW, now)
        summary.cancelled_opposite += _set_status(
            conn, to_cancel, SubscriptionStatus.CANCELLED, now
        )
    return summary


def _rows(
    conn: Connection, site: str, lfns: Sequence[str]
) -> dict[tuple[str, str], tuple[int, str]]:
    query = select(_subs.c.lfn, _subs.c.kind, _subs.c.id, _subs.c.status).where(
        _subs.c.site == site, is_any_of(conn, _subs.c.lfn, lfns)
    )
    return {(lfn, kind): (id_, status) for lfn, kind, id_, status in conn.execute(query)}


def _row(
    kind: OpKind, site: str, ref: FileRef, origin: str, origin_id: int | None, now: int
) -> dict[str, object]:
    return {
        "kind": str(kind),
        "lfn": ref.lfn,
        "site": site,
        "dataset": ref.dataset,
        "block": ref.block,
        "size": ref.size,
        "adler32": ref.adler32,
        "status": str(SubscriptionStatus.NEW),
        "hold_reason": None,
        "origin": origin,
        "origin_id": origin_id,
        "created": now,
        "updated": now,
    }


def _set_status(conn: Connection, ids: Sequence[int], status: str, now: int) -> int:
    count = 0
    for batch in chunks(ids, lookup_chunk(conn)):
        conn.execute(
            update(_subs)
            .where(is_any_of(conn, _subs.c.id, batch))
            .values(status=status, hold_reason=None, updated=now)
        )
        count += len(batch)
    return count


def block_files(conn: Connection, dataset: str, block: str) -> list[FileRef]:
    """The files of a block, from the ``files`` table."""
    query = (
        select(files.c.lfn, files.c.size, files.c.adler32)
        .select_from(files.join(blocks, files.c.block_id == blocks.c.id))
        .join(datasets, blocks.c.dataset_id == datasets.c.id)
        .where(datasets.c.name == dataset, blocks.c.name == block)
        .order_by(files.c.lfn)
    )
    return [
        FileRef(lfn=lfn, dataset=dataset, block=block, size=size, adler32=adler32 or "")
        for lfn, size, adler32 in conn.execute(query)
    ]


def subscribe_block(
    conn: Connection,
    kind: OpKind,
    dataset: str,
    block: str,
    site: str,
    *,
    origin: str,
    origin_id: int | None = None,
    now: int,
) -> SubscribeSummary:
    """Subscribe every file of a block replica (the files the ``files`` table lists)."""
    refs = block_files(conn, dataset, block)
    return subscribe(conn, kind, site, refs, origin=origin, origin_id=origin_id, now=now)


def cancel(conn: Connection, subscription_ids: Iterable[int], *, now: int) -> int:
    """Cancel the pending subscriptions among ``subscription_ids``; returns how many."""
    count = 0
    for batch in chunks(subscription_ids, lookup_chunk(conn)):
        result = conn.execute(
            update(_subs)
            .where(is_any_of(conn, _subs.c.id, batch), _subs.c.status.in_(sorted(PENDING)))
            .values(status=str(SubscriptionStatus.CANCELLED), hold_reason=None, updated=now)
        )
        count += result.rowcount
    return count


def cancel_files(
    conn: Connection, kind: OpKind, site: str, lfns: Iterable[str], *, now: int
) -> int:
    """Cancel the pending ``kind`` subscriptions of these files at ``site``."""
    count = 0
    for batch in chunks(lfns, lookup_chunk(conn)):
        result = conn.execute(
            update(_subs)
            .where(
                _subs.c.site == site,
                _subs.c.kind == str(kind),
                is_any_of(conn, _subs.c.lfn, batch),
                _subs.c.status.in_(sorted(PENDING)),
            )
            .values(status=str(SubscriptionStatus.CANCELLED), hold_reason=None, updated=now)
        )
        count += result.rowcount
    return count


def release(
    conn: Connection,
    *,
    subscription_ids: Iterable[int] | None = None,
    site: str | None = None,
    reason: HoldReason | None = None,
    now: int,
) -> int:
    """Send held subscriptions back to ``new`` and forget their failures (so that every source
    is tried afresh). Filters combine; with none, every held subscription is released."""
    where = [_subs.c.status == str(SubscriptionStatus.HELD)]
    if site is not None:
        where.append(_subs.c.site == site)
    if reason is not None:
        where.append(_subs.c.hold_reason == str(reason))
    ids: list[int] = []
    if subscription_ids is None:
        ids = list(conn.execute(select(_subs.c.id).where(and_(*where))).scalars())
    else:
        for batch in chunks(subscription_ids, lookup_chunk(conn)):
            query = select(_subs.c.id).where(and_(*where), is_any_of(conn, _subs.c.id, batch))
            ids.extend(conn.execute(query).scalars())
    for batch in chunks(ids, lookup_chunk(conn)):
        conn.execute(
            delete(fileop_failures).where(is_any_of(conn, fileop_failures.c.subscription_id, batch))
        )
    return _set_status(conn, ids, SubscriptionStatus.NEW, now)
