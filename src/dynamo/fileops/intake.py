"""Intake of the block-replica deletions Detox queued (table ``replica_deletions``).

Each ``new`` row becomes deletion subscriptions for every file of the block at the site (the
files the ``files`` table lists), and the row becomes ``queued``, in one transaction per row.
The row turns ``done`` or ``failed`` later, when the updater folds the finished subscriptions
into the inventory.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select, update

from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import subscribe_block
from dynamo.store.schema.detox import replica_deletions

__all__ = ["take_replica_deletions"]

log = logging.getLogger(__name__)


def take_replica_deletions(engine: Engine, *, now: int, limit: int = 10_000) -> int:
    """Turn up to ``limit`` new replica deletions into deletion subscriptions; returns the
    number of files subscribed."""
    table = replica_deletions
    with engine.begin() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.dataset, table.c.block, table.c.site, table.c.cycle_id)
            .where(table.c.status == "new")
            .order_by(table.c.id)
            .limit(limit)
        ).all()
    subscribed = 0
    for id_, dataset, block, site, cycle_id in rows:
        with engine.begin() as conn:
            claimed = conn.execute(
                update(table)
                .where(table.c.id == id_, table.c.status == "new")
                .values(status="queued", updated=now)
            ).rowcount
            if not claimed:
                continue
            summary = subscribe_block(
                conn,
                OpKind.DELETION,
                dataset,
                block,
                site,
                origin="detox",
                origin_id=cycle_id,
                now=now,
            )
        subscribed += summary.created + summary.revived
        log.info(
            "replica deletion %d: %s#%s at %s: %d files subscribed (%d already)",
            id_,
            dataset,
            block,
            site,
            summary.created + summary.revived,
            summary.unchanged,
        )
    return subscribed
