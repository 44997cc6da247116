"""Executes a :class:`WritePlan` inside one open transaction: deletions, then upserts.

Deletions go first and rely on the schema's cascades (a dataset takes its blocks, files and
replicas; a site its quotas and replicas; a group sets its replicas' group to NULL). Upserts
then go parents first, resolving natural keys to ids in bulk after each level. The caller owns
the transaction: on any error nothing written here survives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Connection, Table, bindparam, delete, select, text, update

from dynamo.errors import StoreConflictError
from dynamo.model import UpsertDataset
from dynamo.store import schema
from dynamo.store.bulk import format_copy_text, is_plain_copy_text
from dynamo.store.plan import BlockKey, WritePlan
from dynamo.store.sqlops import (
    IN_CHUNK,
    block_ids,
    chunks,
    ids_by_name,
    is_any_of,
    lookup_chunk,
    upsert,
)

__all__ = ["encode_software_version", "write_plan"]


def encode_software_version(version: tuple[int, int, int, str] | None) -> str | None:
    """``(10, 6, 4, "patch1")`` -> ``"10.6.4.patch1"``."""
    if version is None:
        return None
    return f"{version[0]}.{version[1]}.{version[2]}.{version[3]}"


def write_plan(conn: Connection, plan: WritePlan) -> set[BlockKey]:
    """Write ``plan``; returns the blocks whose file lists may have changed."""
    touched = plan.touched_file_blocks()
    touched.update(_blocks_of_files(conn, plan.delete_files))
    _delete(conn, plan)
    _upsert_top_level(conn, plan)
    _upsert_datasets_and_blocks(conn, plan)
    _upsert_children(conn, plan)
    return touched


def _blocks_of_files(conn: Connection, lfns: Iterable[str]) -> set[BlockKey]:
    files, blocks, datasets = schema.files, schema.blocks, schema.datasets
    found: set[BlockKey] = set()
    for batch in chunks(lfns, IN_CHUNK):
        query = (
            select(datasets.c.name, blocks.c.name)
            .select_from(files.join(blocks).join(datasets))
            .where(files.c.lfn.in_(batch))
        )
        found.update((d, b) for d, b in conn.execute(query))
    return found


def _delete(conn: Connection, plan: WritePlan) -> None:
    br, dr = schema.block_replicas, schema.dataset_replicas
    datasets = {key[0] for key in plan.delete_block_replicas | plan.delete_blocks}
    datasets.update(d for d, _ in plan.delete_dataset_replicas)
    dataset_ids = ids_by_name(conn, schema.datasets, datasets)
    site_ids = ids_by_name(
        conn,
        schema.sites,
        {s for _, _, s in plan.delete_block_replicas}
        | {s for _, s in plan.delete_dataset_replicas},
    )
    bids = block_ids(
        conn,
        {(d, b) for d, b, _ in plan.delete_block_replicas} | plan.delete_blocks,
        dataset_ids,
    )
    rows = [
        {"b": bids[(d, b)], "s": site_ids[s]}
        for d, b, s in plan.delete_block_replicas
        if (d, b) in bids and s in site_ids
    ]
    if rows:
        stmt = delete(br).where(br.c.block_id == bindparam("b"), br.c.site_id == bindparam("s"))
        conn.execute(stmt, rows)
    rows = [
        {"d": dataset_ids[d], "s": site_ids[s]}
        for d, s in plan.delete_dataset_replicas
        if d in dataset_ids and s in site_ids
    ]
    if rows:
        blocks_of = select(schema.blocks.c.id).where(schema.blocks.c.dataset_id == bindparam("d"))
        conn.execute(
            delete(br).where(br.c.site_id == bindparam("s"), br.c.block_id.in_(blocks_of)), rows
        )
        conn.execute(
            delete(dr).where(dr.c.dataset_id == bindparam("d"), dr.c.site_id == bindparam("s")),
            rows,
        )
    for batch in chunks(plan.delete_files, IN_CHUNK):
        conn.execute(delete(schema.files).where(schema.files.c.lfn.in_(batch)))
    for id_batch in chunks((bids[key] for key in plan.delete_blocks if key in bids), IN_CHUNK):
        conn.execute(delete(schema.blocks).where(schema.blocks.c.id.in_(id_batch)))
    for table, names in (
        (schema.datasets, plan.delete_datasets),
        (schema.sites, plan.delete_sites),
        (schema.groups, plan.delete_groups),
    ):
        for batch in chunks(names, IN_CHUNK):
            conn.execute(delete(table).where(table.c.name.in_(batch)))


def _upsert_top_level(conn: Connection, plan: WritePlan) -> None:
    upsert(
        conn,
        schema.groups,
        [{"name": g.name, "olevel": int(g.olevel)} for g in plan.groups.values()],
        ["name"],
    )
    upsert(
        conn,
        schema.sites,
        [
            {
                "name": s.name,
                "host": s.host,
                "storage_type": int(s.storage_type),
                "backend": s.backend,
                "status": int(s.status),
            }
            for s in plan.sites.values()
        ],
        ["name"],
    )
    upsert(
        conn,
        schema.partitions,
        [
            {
                "name": p.name,
                "condition_text": p.condition,
                "subpartitions": json.dumps(list(p.subpartitions)) if p.subpartitions else None,
            }
            for p in plan.partitions.values()
        ],
        ["name"],
    )
    if plan.quotas:
        site_ids = ids_by_name(conn, schema.sites, {s for s, _ in plan.quotas})
        partition_ids = ids_by_name(conn, schema.partitions, {p for _, p in plan.quotas})
        rows = [
            {
                "site_id": site_ids[q.site],
                "partition_id": partition_ids[q.partition],
                "quota": q.quota,
            }
            for q in plan.quotas.values()
        ]
        upsert(conn, schema.quotas, rows, ["site_id", "partition_id"])


def _dataset_row(op: UpsertDataset) -> dict[str, object]:
    return {
        "name": op.name,
        "status": int(op.status),
        "data_type": int(op.data_type),
        "software_version": encode_software_version(op.software_version),
        "last_update": op.last_update,
        "is_open": op.is_open,
    }


def _upsert_datasets_and_blocks(conn: Connection, plan: WritePlan) -> None:
    by_copy = conn.dialect.name == "postgresql"
    if by_copy and len(plan.datasets) >= _COPY_ROWS_FROM:
        lines = format_copy_text(
            (
                op.name,
                int(op.status),
                int(op.data_type),
                encode_software_version(op.software_version),
                op.last_update,
                op.is_open,
            )
            for op in plan.datasets.values()
        )
        _copy_upsert(conn, schema.datasets, _DATASET_COLUMNS, lines, keys=["name"])
    else:
        rows = [_dataset_row(op) for op in plan.datasets.values()]
        upsert(conn, schema.datasets, rows, ["name"])
    if not plan.blocks:
        return
    dataset_ids = ids_by_name(conn, schema.datasets, {d for d, _ in plan.blocks})
    if plan.resized_blocks:
        _freeze_complete_replicas(conn, block_ids(conn, plan.resized_blocks, dataset_ids).values())
    if by_copy and len(plan.blocks) >= _COPY_ROWS_FROM:
        lines = format_copy_text(
            (
                dataset_ids[op.dataset],
                op.name,
                op.size,
                op.num_files,
                op.is_open,
                op.last_update,
            )
            for op in plan.blocks.values()
        )
        _copy_upsert(conn, schema.blocks, _BLOCK_COLUMNS, lines, keys=["dataset_id", "name"])
        return
    rows = [
        {
            "dataset_id": dataset_ids[op.dataset],
            "name": op.name,
            "size": op.size,
            "num_files": op.num_files,
            "is_open": op.is_open,
            "last_update": op.last_update,
        }
        for op in plan.blocks.values()
    ]
    upsert(conn, schema.blocks, rows, ["dataset_id", "name"])


def _freeze_complete_replicas(conn: Connection, ids: Iterable[int]) -> None:
    """Give NULL-sized (complete) replicas of resized blocks the block's current size."""
    br, blocks = schema.block_replicas, schema.blocks
    size_of = select(blocks.c.size).where(blocks.c.id == br.c.block_id).scalar_subquery()
    files_of = select(blocks.c.num_files).where(blocks.c.id == br.c.block_id).scalar_subquery()
    for batch in chunks(ids, IN_CHUNK):
        conn.execute(
            update(br)
            .where(br.c.block_id.in_(batch), br.c.size.is_(None))
            .values(size=size_of, num_files=files_of)
        )


def _upsert_children(conn: Connection, plan: WritePlan) -> None:
    if not (plan.files or plan.dataset_replicas or plan.block_replicas):
        return
    datasets = {f.dataset for f in plan.files.values()}
    datasets.update(d for d, _ in plan.dataset_replicas)
    datasets.update(row.dataset for row in plan.block_replicas.values())
    dataset_ids = ids_by_name(conn, schema.datasets, datasets)
    wanted_blocks = {(f.dataset, f.block) for f in plan.files.values()}
    wanted_blocks.update((row.dataset, row.block) for row in plan.block_replicas.values())
    bids = block_ids(conn, wanted_blocks, dataset_ids)
    if plan.files:
        _upsert_files(conn, plan, bids)
    sites = {s for _, s in plan.dataset_replicas}
    sites.update(row.site for row in plan.block_replicas.values())
    site_ids = ids_by_name(conn, schema.sites, sites)
    groups = {r.group for r in plan.dataset_replicas.values() if r.group is not None}
    groups.update(row.group for row in plan.block_replicas.values() if row.group is not None)
    group_ids: dict[str | None, int | None] = {None: None}
    group_ids.update(ids_by_name(conn, schema.groups, groups))
    by_copy = conn.dialect.name == "postgresql"
    null = "\\N"
    group_text = {name: null if id_ is None else str(id_) for name, id_ in group_ids.items()}
    if by_copy and len(plan.dataset_replicas) >= _COPY_ROWS_FROM:
        lines = "".join(
            [
                f"{dataset_ids[r.dataset]}\t{site_ids[r.site]}\t{group_text[r.group]}\t"
                f"{'t' if r.growing else 'f'}\n"
                for r in plan.dataset_replicas.values()
            ]
        )
        _copy_upsert(conn, schema.dataset_replicas, _DATASET_REPLICA_COLUMNS, lines)
    else:
        rows = [
            {
                "dataset_id": dataset_ids[r.dataset],
                "site_id": site_ids[r.site],
                "group_id": group_ids[r.group],
                "growing": r.growing,
            }
            for r in plan.dataset_replicas.values()
        ]
        upsert(conn, schema.dataset_replicas, rows, ["dataset_id", "site_id"])
    if by_copy and len(plan.block_replicas) >= _COPY_ROWS_FROM:
        lines = "".join(
            [
                f"{bids[(r.dataset, r.block)]}\t{site_ids[r.site]}\t{group_text[r.group]}\t"
                f"{'t' if r.is_custodial else 'f'}\t{null if r.size is None else r.size}\t"
                f"{null if r.num_files is None else r.num_files}\t{r.last_update}\n"
                for r in plan.block_replicas.values()
            ]
        )
        _copy_upsert(conn, schema.block_replicas, _BLOCK_REPLICA_COLUMNS, lines)
        return
    rows = [
        {
            "block_id": bids[(r.dataset, r.block)],
            "site_id": site_ids[r.site],
            "group_id": group_ids[r.group],
            "is_custodial": r.is_custodial,
            "size": r.size,
            "num_files": r.num_files,
            "last_update": r.last_update,
        }
        for r in plan.block_replicas.values()
    ]
    upsert(conn, schema.block_replicas, rows, ["block_id", "site_id"])


def _upsert_files(conn: Connection, plan: WritePlan, bids: dict[BlockKey, int]) -> None:
    targets = {lfn: bids[(f.dataset, f.block)] for lfn, f in plan.files.items()}
    if conn.dialect.name == "postgresql" and len(targets) >= _COPY_FROM:
        _copy_files(conn, plan, targets)
        return
    files = schema.files
    for batch in chunks(targets, lookup_chunk(conn)):
        query = select(files.c.lfn, files.c.block_id).where(is_any_of(conn, files.c.lfn, batch))
        for lfn, block_id in conn.execute(query):
            if block_id != targets[lfn]:
                _raise_moved(plan, lfn)
    rows = [
        {"block_id": targets[f.lfn], "lfn": f.lfn, "size": f.size, "adler32": f.adler32}
        for f in plan.files.values()
    ]
    upsert(conn, schema.files, rows, ["lfn"])


# From this many file rows (or dataset, block or replica rows), PostgreSQL gets them by COPY
# into a temporary table and one INSERT ... SELECT ... ON CONFLICT DO UPDATE, the same upsert
# as executemany's (measured: COPY is faster from about 50 replica rows).
_COPY_FROM = 2_000
_COPY_ROWS_FROM = 100
_DATASET_COLUMNS = ("name", "status", "data_type", "software_version", "last_update", "is_open")
_BLOCK_COLUMNS = ("dataset_id", "name", "size", "num_files", "is_open", "last_update")
_FILE_COLUMNS = ("block_id", "lfn", "size", "adler32")
_DATASET_REPLICA_COLUMNS = ("dataset_id", "site_id", "group_id", "growing")
_BLOCK_REPLICA_COLUMNS = (
    "block_id",
    "site_id",
    "group_id",
    "is_custodial",
    "size",
    "num_files",
    "last_update",
)


def _copy_files(conn: Connection, plan: WritePlan, targets: dict[str, int]) -> None:
    """COPY the rows into a temporary table, check ownership with one join, upsert from it."""
    lines = "".join(
        [f"{targets[lfn]}\t{lfn}\t{f.size}\t{f.adler32}\n" for lfn, f in plan.files.items()]
    )
    if not is_plain_copy_text(lines, len(targets), len(_FILE_COLUMNS)):
        lines = format_copy_text(
            (targets[f.lfn], f.lfn, f.size, f.adler32) for f in plan.files.values()
        )

    def check(temp: str) -> None:
        moved = conn.execute(
            text(
                f"SELECT i.lfn FROM {temp} i JOIN files f ON f.lfn = i.lfn "
                "WHERE f.block_id <> i.block_id LIMIT 1"
            )
        ).scalar()
        if moved is not None:
            _raise_moved(plan, moved)

    _copy_upsert(conn, schema.files, _FILE_COLUMNS, lines, check, keys=["lfn"])


def _copy_upsert(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    lines: str,
    check: Callable[[str], None] | None = None,
    keys: Sequence[str] | None = None,
) -> None:
    """Upsert rows given in COPY text format into ``table`` on PostgreSQL (key: the table's
    primary key unless ``keys`` are given): COPY into a temporary table shaped as ``table``,
    ``check(temporary table name)``, then ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` of
    every other column."""
    if not lines:
        return
    temp = f"{table.name}_in"
    names = ", ".join(columns)
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "
            f"SELECT {names} FROM {table.name} WITH NO DATA"
        )
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {temp} ({names}) FROM STDIN") as copy:
        copy.write(lines)
    if check is not None:
        check(temp)
    keys = [c.name for c in table.primary_key.columns] if keys is None else keys
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    conn.execute(
        text(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
    )
    conn.execute(text(f"DROP TABLE {temp}"))


def _raise_moved(plan: WritePlan, lfn: str) -> None:
    op = plan.files[lfn]
    raise StoreConflictError(
        f"file {lfn!r} is registered to another block; it cannot be registered "
        f"to {op.dataset}#{op.block} (delete it first)"
    )
