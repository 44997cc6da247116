# mypy: ignore-errors
"""Untimed: load datasets ``[start, stop)`` of the inventory into Rucio's tables by COPY, leaving
the tables as ``register.py`` (add_dids, add_replicas per RSE in calls of ``batch``,
attach_dids_to_dids) would have, then check that with Rucio's own calls.

Rucio's core registration only INSERTs (no UPDATE), into seven tables: ``dids`` (one row per
dataset and per file), ``messages`` (one CREATE_DTS per dataset), ``replicas``, ``contents``,
``updated_dids`` (one per attached dataset) and ``updated_rse_counters`` (one per add_replicas
call: its files and bytes). Every new row here copies a row the API wrote for the sample
registered before (the template), with only the varying columns replaced (names, sizes,
checksums, RSE ids, counters; fresh ``id`` uuids and timestamps), so flags and defaults are
exactly the API's. The check compares, column by column, the distinct values of every other
column between the API's rows and these, counts the rows, and lists the replicas and contents
of sampled datasets through ``rucio.core`` against the inventory.
"""

import io
import random
import sys
from collections import defaultdict

import psycopg
from peerlib import SCOPE, Stopwatch, dataset_name, emit, file_name, load_spec
from rucio.common.config import config_get
from rucio.common.types import InternalScope
from rucio.core.did import get_did, list_content
from rucio.core.replica import list_replicas
from rucio.core.rse import get_rse_id

NOW = "(now() AT TIME ZONE 'UTC')"

STAGING = {
    "st_datasets": "name text",
    "st_files": "name text, bytes bigint, adler32 text",
    "st_replicas": "rse_id uuid, name text, bytes bigint, adler32 text",
    "st_contents": "name text, child_name text, bytes bigint, adler32 text",
    "st_counters": "rse_id uuid, files bigint, bytes bigint",
}

# table: (which template row, staging table, {column: expression over s (staging), t (template)})
TABLES = {
    "dids_datasets": (
        "dids",
        "did_type = 'D'",
        "st_datasets",
        {"name": "s.name"},
    ),
    "messages": (
        "messages",
        "event_type = 'CREATE_DTS'",
        "st_datasets",
        {
            "payload": "replace(t.payload, '\"' || (t.payload::json ->> 'name') || '\"', "
            "'\"' || s.name || '\"')"
        },
    ),
    "dids_files": (
        "dids",
        "did_type = 'F'",
        "st_files",
        {"name": "s.name", "bytes": "s.bytes", "adler32": "s.adler32"},
    ),
    "replicas": (
        "replicas",
        "TRUE",
        "st_replicas",
        {"rse_id": "s.rse_id", "name": "s.name", "bytes": "s.bytes", "adler32": "s.adler32"},
    ),
    "contents": (
        "contents",
        "TRUE",
        "st_contents",
        {
            "name": "s.name",
            "child_name": "s.child_name",
            "bytes": "s.bytes",
            "adler32": "s.adler32",
        },
    ),
    "updated_dids": ("updated_dids", "TRUE", "st_datasets", {"name": "s.name"}),
    "updated_rse_counters": (
        "updated_rse_counters",
        "TRUE",
        "st_counters",
        {"rse_id": "s.rse_id", "files": "s.files", "bytes": "s.bytes"},
    ),
}
GENERATED = {"id", "created_at", "updated_at"}


def columns(cursor, table):
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    return [row[0] for row in cursor.fetchall()]


def staging_rows(spec, start, stop, batch, rse_ids):
    """The varying values of every new row, in the order register.py makes them."""
    rows = defaultdict(list)
    per_rse = defaultdict(list)
    for d in spec["datasets"][start:stop]:
        ds = dataset_name(d["index"])
        rows["st_datasets"].append((ds,))
        for j, (size, adler) in enumerate(d["files"]):
            name = file_name(d["index"], j)
            rows["st_files"].append((name, size, adler))
            rows["st_contents"].append((ds, name, size, adler))
            for site in d["sites"]:
                rows["st_replicas"].append((rse_ids[site], name, size, adler))
                per_rse[site].append(size)
    for site in sorted(per_rse):
        sizes = per_rse[site]
        for at in range(0, len(sizes), batch):
            chunk = sizes[at : at + batch]
            rows["st_counters"].append((rse_ids[site], len(chunk), sum(chunk)))
    return rows


def copy_staging(cursor, rows):
    for table, definition in STAGING.items():
        cursor.execute(f"CREATE TEMP TABLE {table} ({definition}) ON COMMIT DROP")
        buffer = io.StringIO()
        for row in rows[table]:
            buffer.write("\t".join(str(v) for v in row) + "\n")
        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
            copy.write(buffer.getvalue())


def insert_like(cursor, table, template, staging, substitute):
    names = columns(cursor, table)
    exprs = []
    for column in names:
        if column in substitute:
            exprs.append(substitute[column])
        elif column == "id":
            exprs.append("gen_random_uuid()")
        elif column in ("created_at", "updated_at"):
            exprs.append(NOW)
        else:
            exprs.append(f"t.{column}")
    select = ", ".join(exprs)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {select} "
        f"FROM (SELECT * FROM {table} WHERE {template} LIMIT 1) t CROSS JOIN {staging} s"
    )
    return cursor.rowcount


def compare_columns(cursor, split):
    """Columns the bulk load did not substitute: the same distinct values as the API's rows."""
    mismatches = []
    for _, (table, template, _, substitute) in TABLES.items():
        where = "TRUE" if template == "TRUE" else template
        for column in columns(cursor, table):
            if column in substitute or column in GENERATED or column in ("name", "scope"):
                continue
            found = []
            for side in ("<", ">="):
                cursor.execute(
                    f"SELECT DISTINCT {column}::text FROM {table} WHERE {where} "
                    f"AND created_at {side} %s",
                    (split,),
                )
                found.append({row[0] for row in cursor.fetchall()})
            if found[0] != found[1]:
                mismatches.append(f"{table}.{column}: api {found[0]} bulk {found[1]}")
    return mismatches


def check_with_rucio(spec, indexes):
    """Replicas and contents of the sampled datasets, listed by rucio.core, as in the inventory."""
    scope = InternalScope(SCOPE)
    problems = []
    for index in indexes:
        d = spec["datasets"][index]
        name = dataset_name(d["index"])
        if get_did(scope, name)["type"].name != "DATASET":
            problems.append(f"{name}: not a dataset")
        content = {c["name"]: c for c in list_content(scope, name)}
        replicas = {r["name"]: r for r in list_replicas([{"scope": scope, "name": name}])}
        for j, (size, adler) in enumerate(d["files"]):
            f = file_name(d["index"], j)
            if f not in content or content[f]["bytes"] != size:
                problems.append(f"{name}: content {f}")
            found = replicas.get(f)
            if found is None or found["bytes"] != size or found["adler32"] != adler:
                problems.append(f"{name}: replica {f}")
                continue
            rses = set(found["rses"])
            if {get_rse_id(s) for s in d["sites"]} != rses or not all(found["rses"].values()):
                problems.append(f"{name}: {f} at {sorted(rses)}")
    return problems


def main(spec_path, batch, start, stop):
    spec = load_spec(spec_path)
    rse_ids = {s["name"]: get_rse_id(s["name"]) for s in spec["sites"]}
    rows = staging_rows(spec, start, stop, batch, rse_ids)
    url = config_get("database", "default").replace("postgresql+psycopg", "postgresql")
    clock = Stopwatch()
    inserted = {}
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT {NOW}")
        split = cursor.fetchone()[0]
        copy_staging(cursor, rows)
        for key, (table, template, staging, substitute) in TABLES.items():
            inserted[key] = insert_like(cursor, table, template, staging, substitute)
        connection.commit()
        cursor.execute("ANALYZE")
        mismatches = compare_columns(cursor, split)
    seconds = clock.seconds()
    rng = random.Random(0)
    sampled = rng.sample(range(start, stop), min(20, stop - start))
    problems = check_with_rucio(spec, [*sampled, start - 1] if start else sampled)
    expected = {
        "dids_datasets": stop - start,
        "messages": stop - start,
        "dids_files": len(rows["st_files"]),
        "replicas": len(rows["st_replicas"]),
        "contents": len(rows["st_contents"]),
        "updated_dids": stop - start,
        "updated_rse_counters": len(rows["st_counters"]),
    }
    if inserted != expected or mismatches or problems:
        raise SystemExit(
            f"bulk load differs from the API's: rows {inserted} (expected {expected}); "
            f"columns {mismatches[:10]}; listings {problems[:10]}"
        )
    emit(
        {
            "datasets": stop - start,
            "first_dataset": start,
            "rows": inserted,
            "seconds": seconds,
            "checked_datasets": len(sampled),
        }
    )


if __name__ == "__main__":
    main(sys.argv[1], *(int(arg) for arg in sys.argv[2:5]))
