"""A small inventory and queue rows for the tests of the updater, queries, routes and CLI.

Two datasets: ``DS`` with block ``B1`` (three files, 100 + 200 + 300 bytes) and ``B2`` (two
files, 50 + 50), and ``OTHER`` with ``B3`` (one file of 10 bytes). Sites: ``SRC`` (holds
everything complete, owned by AnalysisOps), ``DST`` (empty, READY), ``DOWN`` (WAITROOM).
Subscription rows are written straight into the tables (:func:`add_subscription`), so the
tests do not depend on the manager.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, select

from dynamo.model import (
    ChangeSet,
    File,
    Inventory,
    MemoryFileCatalog,
    SiteStatus,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertFile,
    UpsertGroup,
    UpsertSite,
)
from dynamo.store.schema.detox import replica_deletions
from dynamo.store.schema.fileops import (
    fileop_batches,
    fileop_history,
    fileop_subscriptions,
    fileop_tasks,
)

__all__ = [
    "B1",
    "B2",
    "B3",
    "DOWN",
    "DS",
    "DST",
    "FILES",
    "GROUP",
    "NOW",
    "OTHER",
    "SRC",
    "add_batch_task",
    "add_history",
    "add_replica_deletion",
    "add_subscription",
    "base_inventory",
    "base_ops",
    "catalog",
    "lfn",
    "subscription_rows",
]

NOW = 1_700_000_000
DS = "/Fileops/Test-v1/AOD"
OTHER = "/Fileops/Other-v1/AOD"
B1, B2, B3 = "b1", "b2", "b3"
SRC, DST, DOWN = "T1_SRC_Disk", "T2_DST", "T2_DOWN"
GROUP = "AnalysisOps"
_SIZES = {(DS, B1): (100, 200, 300), (DS, B2): (50, 50), (OTHER, B3): (10,)}
_ids = itertools.count(1)


def lfn(dataset: str, block: str, index: int) -> str:
    """The LFN of file ``index`` (0-based) of a block."""
    return f"/store{dataset}/{block}/f{index}.root"


FILES: tuple[File, ...] = tuple(
    File(
        lfn=lfn(dataset, block, i),
        dataset=dataset,
        block=block,
        size=size,
        adler32=f"{i + 1:08x}",
    )
    for (dataset, block), sizes in _SIZES.items()
    for i, size in enumerate(sizes)
)


def base_ops() -> ChangeSet:
    """Sites, the group, both datasets with their files, everything complete at SRC."""
    ops: list[Any] = [
        UpsertGroup(name=GROUP),
        UpsertSite(name=SRC),
        UpsertSite(name=DST),
        UpsertSite(name=DOWN, status=SiteStatus.WAITROOM),
    ]
    for dataset in (DS, OTHER):
        ops.append(UpsertDataset(name=dataset, last_update=NOW - 1000))
        for (ds, block), sizes in _SIZES.items():
            if ds == dataset:
                ops.append(
                    UpsertBlock(dataset=ds, name=block, size=sum(sizes), num_files=len(sizes))
                )
    ops += [
        UpsertFile(lfn=f.lfn, dataset=f.dataset, block=f.block, size=f.size, adler32=f.adler32)
        for f in FILES
    ]
    for dataset in (DS, OTHER):
        ops.append(UpsertDatasetReplica(dataset=dataset, site=SRC, group=GROUP))
    ops += [
        UpsertBlockReplica(dataset=ds, block=block, site=SRC, group=GROUP) for ds, block in _SIZES
    ]
    return ChangeSet.of(ops)


def base_inventory() -> Inventory:
    inventory = Inventory()
    inventory.apply(base_ops())
    return inventory


def catalog() -> MemoryFileCatalog:
    return MemoryFileCatalog(FILES)


def add_subscription(
    engine: Engine,
    *,
    kind: str = "transfer",
    dataset: str = DS,
    block: str = B1,
    index: int = 0,
    site: str = DST,
    status: str = "new",
    hold_reason: str | None = None,
    origin: str = "dealer",
    updated: int = NOW - 100,
    created: int | None = None,
) -> int:
    """Insert one subscription row for file ``index`` of ``block``; returns its id."""
    file = next(f for f in FILES if f.lfn == lfn(dataset, block, index))
    with engine.begin() as conn:
        result = conn.execute(
            insert(fileop_subscriptions).values(
                kind=kind,
                lfn=file.lfn,
                site=site,
                dataset=dataset,
                block=block,
                size=file.size,
                adler32=file.adler32,
                status=status,
                hold_reason=hold_reason,
                origin=origin,
                origin_id=None,
                created=updated if created is None else created,
                updated=updated,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def add_batch_task(
    engine: Engine,
    subscription_id: int,
    *,
    status: str = "active",
    source_site: str | None = SRC,
    backend: str = "standalone",
) -> int:
    """A batch holding one task of ``subscription_id``; returns the task id."""
    with engine.begin() as conn:
        row = conn.execute(
            select(
                fileop_subscriptions.c.kind,
                fileop_subscriptions.c.site,
                fileop_subscriptions.c.lfn,
            ).where(fileop_subscriptions.c.id == subscription_id)
        ).one()
        batch = conn.execute(
            insert(fileop_batches).values(
                kind=row.kind,
                backend=backend,
                source_site=source_site,
                site=row.site,
                status="claimed",
                staging=0,
                created=NOW - 50,
                updated=NOW - 40,
            )
        ).inserted_primary_key
        assert batch is not None
        task = conn.execute(
            insert(fileop_tasks).values(
                batch_id=batch[0],
                subscription_id=subscription_id,
                source_site=source_site,
                path=row.lfn,
                status=status,
                started=NOW - 30,
            )
        ).inserted_primary_key
        assert task is not None
        return int(task[0])


def add_history(
    engine: Engine,
    *,
    kind: str = "transfer",
    site: str = DST,
    source_site: str | None = SRC,
    size: int = 1000,
    status: str = "done",
    exit_code: int = 0,
    finished: int = NOW - 60,
    started: int | None = None,
    dataset: str = DS,
    name: str | None = None,
    message: str | None = None,
) -> None:
    """One finished task in ``fileop_history``."""
    with engine.begin() as conn:
        conn.execute(
            insert(fileop_history).values(
                kind=kind,
                lfn=name or f"/store{dataset}/hist/{next(_ids)}.root",
                site=site,
                source_site=source_site if kind == "transfer" else None,
                backend="standalone",
                size=size,
                status=status,
                exit_code=exit_code,
                message=message,
                origin="dealer",
                created=finished - 120,
                started=finished - 100 if started is None else started,
                finished=finished,
            )
        )


def add_replica_deletion(
    engine: Engine, *, dataset: str = DS, block: str = B1, site: str = SRC, status: str = "queued"
) -> int:
    with engine.begin() as conn:
        key = conn.execute(
            insert(replica_deletions).values(
                cycle_id=None,
                dataset=dataset,
                block=block,
                site=site,
                size=0,
                status=status,
                created=NOW - 500,
                updated=NOW - 500,
            )
        ).inserted_primary_key
        assert key is not None
        return int(key[0])


def subscription_rows(
    engine: Engine, columns: Sequence[str] = ("lfn", "site", "kind", "status")
) -> set[tuple[Any, ...]]:
    """The subscription rows as tuples of ``columns``."""
    table = fileop_subscriptions
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(select(*(table.c[c] for c in columns)))}
