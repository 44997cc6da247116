"""The start-up load: stream every inventory table into a new Inventory through BulkLoader.

The caller opens one snapshot transaction (REPEATABLE READ on PostgreSQL and MariaDB, a
deferred ``BEGIN`` on SQLite in WAL mode), so the ``seq`` returned is exactly the log position
of the rows read. Rows are streamed with the driver's own cursors, bypassing SQLAlchemy's
result objects: a named (server-side) cursor on PostgreSQL, an unbuffered ``SSCursor`` on
MariaDB/MySQL, plain ``fetchmany`` on SQLite. Only the id -> object maps needed to link
children are held, and they die with the load. The per-row work is kept to the minimum: the
loop bodies do lookups and one BulkLoader call, nothing else.
"""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Iterator, Sequence
from typing import Any, Final

import pymysql.cursors
from sqlalchemy import Connection

from dynamo.errors import StoreError
from dynamo.model import (
    BulkLoader,
    DatasetStatus,
    DataType,
    Group,
    GroupLevel,
    Inventory,
    SiteStatus,
    StorageType,
)
from dynamo.store.ports import ProgressCallback

__all__ = ["FETCH_ROWS", "TableLoad", "load_into", "run_load", "stream_rows"]

FETCH_ROWS: Final = 50_000
_BOOL: Final = (False, True)
_cursor_names = itertools.count()


def stream_rows(conn: Connection, sql: str, batch: int = FETCH_ROWS) -> Iterator[Sequence[Any]]:
    """Batches of raw row tuples of ``sql``, streamed with the driver's cursor."""
    dbapi: Any = conn.connection.dbapi_connection
    dialect = conn.dialect.name
    if dialect == "postgresql":
        cursor = dbapi.cursor(name=f"dynamo_load_{next(_cursor_names)}")
        cursor.itersize = batch
    elif dialect in ("mysql", "mariadb"):
        cursor = dbapi.cursor(pymysql.cursors.SSCursor)
    else:
        cursor = dbapi.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


def _decode_version(text: str | None, cache: dict[str, tuple[int, int, int, str]]) -> Any:
    if text is None:
        return None
    found = cache.get(text)
    if found is None:
        cycle, major, minor, suffix = text.split(".", 3)
        found = cache[text] = (int(cycle), int(major), int(minor), suffix)
    return found


class TableLoad:
    """The rows of every inventory table, in a fixed order, into a BulkLoader.

    :meth:`rows` is the one source of rows (the tables through ``conn``); a subclass may serve
    them from elsewhere (a checkpoint) or record them (see :mod:`dynamo.store.checkpoint`).
    """

    def __init__(self, conn: Connection, inventory: Inventory, progress: ProgressCallback | None):
        self.conn = conn
        self.loader = BulkLoader(inventory)
        self.progress = progress
        self.totals: dict[str, int | None] = {}

    def rows(self, stage: str, sql: str) -> Iterator[Sequence[Any]]:
        """Batches of the row tuples of table ``stage`` as ``sql`` selects them."""
        progress = self.progress
        total = None
        if progress is not None:
            total = self.conn.exec_driver_sql(f"SELECT COUNT(*) FROM {stage}").scalar_one()
            progress(stage, 0, total)
        done = 0
        for batch in stream_rows(self.conn, sql):
            yield batch
            done += len(batch)
            if progress is not None:
                progress(stage, done, total)

    def run(self) -> None:
        loader = self.loader
        inventory = loader.inventory
        groups: dict[int | None, Group] = {None: inventory.null_group}
        for batch in self.rows("groups", "SELECT id, name, olevel FROM groups"):
            for id_, name, olevel in batch:
                groups[id_] = loader.add_group(name, GroupLevel(olevel))
        sites = {}
        for batch in self.rows(
            "sites", "SELECT id, name, host, storage_type, backend, status FROM sites"
        ):
            for id_, name, host, storage_type, backend, status in batch:
                sites[id_] = loader.add_site(
                    name,
                    host=host,
                    storage_type=StorageType(storage_type),
                    backend=backend,
                    status=SiteStatus(status),
                )
        partitions = self._partitions()
        for batch in self.rows("quotas", "SELECT site_id, partition_id, quota FROM quotas"):
            for site_id, partition_id, quota in batch:
                loader.set_quota(sites[site_id], partitions[partition_id], quota)
        datasets = self._datasets()
        blocks = self._blocks(datasets)
        replicas = self._dataset_replicas(datasets, sites, groups)
        del datasets
        self._block_replicas(blocks, replicas, groups)

    def _partitions(self) -> dict[int, str]:
        names = {}
        sql = "SELECT id, name, condition_text, subpartitions FROM partitions ORDER BY id"
        for batch in self.rows("partitions", sql):
            for id_, name, condition, subpartitions in batch:
                subs = tuple(json.loads(subpartitions)) if subpartitions else ()
                try:
                    self.loader.define_partition(name, condition=condition, subpartitions=subs)
                except ValueError as exc:
                    raise StoreError(
                        f"cannot load partition {name!r} (condition {condition!r}): {exc}; "
                        "pass the policy layer's partition_compiler to load()"
                    ) from exc
                names[id_] = name
        return names

    def _datasets(self) -> dict[int, Any]:
        add = self.loader.add_dataset
        statuses = {int(s): s for s in DatasetStatus}
        types = {int(t): t for t in DataType}
        versions: dict[str, tuple[int, int, int, str]] = {}
        datasets = {}
        sql = (
            "SELECT id, name, status, data_type, software_version, last_update, is_open "
            "FROM datasets"
        )
        for batch in self.rows("datasets", sql):
            for id_, name, status, data_type, version, last_update, is_open in batch:
                datasets[id_] = add(
                    name,
                    status=statuses[status],
                    data_type=types[data_type],
                    software_version=_decode_version(version, versions),
                    last_update=last_update,
                    is_open=_BOOL[is_open],
                )
        return datasets

    def _blocks(self, datasets: dict[int, Any]) -> dict[int, Any]:
        add = self.loader.add_block
        blocks = {}
        sql = "SELECT id, dataset_id, name, size, num_files, is_open, last_update FROM blocks"
        for batch in self.rows("blocks", sql):
            for id_, dataset_id, name, size, num_files, is_open, last_update in batch:
                blocks[id_] = add(
                    datasets[dataset_id],
                    name,
                    size=size,
                    num_files=num_files,
                    is_open=_BOOL[is_open],
                    last_update=last_update,
                )
        return blocks

    def _dataset_replicas(
        self, datasets: dict[int, Any], sites: dict[int, Any], groups: dict[int | None, Group]
    ) -> dict[tuple[int, int], Any]:
        add = self.loader.add_dataset_replica
        replicas = {}
        sql = "SELECT dataset_id, site_id, group_id, growing FROM dataset_replicas"
        for batch in self.rows("dataset_replicas", sql):
            for dataset_id, site_id, group_id, growing in batch:
                replicas[(dataset_id, site_id)] = add(
                    datasets[dataset_id], sites[site_id], groups[group_id], growing=_BOOL[growing]
                )
        return replicas

    def _block_replicas(
        self,
        blocks: dict[int, Any],
        replicas: dict[tuple[int, int], Any],
        groups: dict[int | None, Group],
    ) -> None:
        add = self.loader.add_block_replica
        sql = (
            "SELECT br.block_id, b.dataset_id, br.site_id, br.group_id, br.is_custodial, "
            "br.size, br.num_files, br.last_update "
            "FROM block_replicas br JOIN blocks b ON b.id = br.block_id"
        )
        for batch in self.rows("block_replicas", sql):
            for block_id, dataset_id, site_id, group_id, custodial, size, nf, updated in batch:
                add(
                    replicas[(dataset_id, site_id)],
                    blocks[block_id],
                    groups[group_id],
                    is_custodial=_BOOL[custodial],
                    size=size,
                    num_files=nf,
                    last_update=updated,
                )


def load_into(
    conn: Connection, inventory: Inventory, progress: ProgressCallback | None = None
) -> int:
    """Fill the empty ``inventory`` from the tables; returns the log seq of the snapshot.

    ``conn`` must be inside a snapshot transaction opened by the caller.
    """
    seq = conn.exec_driver_sql("SELECT MAX(seq) FROM inventory_log").scalar()
    run_load(TableLoad(conn, inventory, progress))
    return int(seq or 0)


def run_load(load: TableLoad) -> None:
    """Run ``load`` and classify the replicas into partitions."""
    progress = load.progress
    # Millions of new objects and no garbage: the cyclic collector would rescan the growing
    # heap again and again for nothing (it doubled the load time when measured).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        load.run()
        if progress is not None:
            progress("classify", 0, None)
        load.loader.finish()
        if progress is not None:
            progress("classify", 1, 1)
    finally:
        if was_enabled:
            gc.enable()
