"""Consistency reports in the database: record a run, read runs and their files.

Tables: :mod:`dynamo.store.schema.consistency` (migration 0007).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from dynamo.consistency.decide import Finding
from dynamo.errors import NotFoundError
from dynamo.store.records import Record
from dynamo.store.schema.consistency import consistency_files, consistency_runs

__all__ = [
    "FileRow",
    "RunRow",
    "get_run",
    "latest_runs",
    "list_runs",
    "previously_missing",
    "record_run",
    "run_files",
]

_INSERT_CHUNK = 5_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow(Record):
    """A recorded run."""

    id: int
    site: str
    mode: str
    status: str
    reason: str | None
    started: int
    finished: int
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRow(Record):
    """A file or directory a run classified."""

    id: int
    kind: str
    path: str
    lfn: str | None
    size: int | None
    expected_size: int | None
    action: str
    detail: str | None


def record_run(
    conn: Connection,
    *,
    site: str,
    mode: str,
    status: str,
    reason: str | None,
    started: int,
    finished: int,
    summary: dict[str, Any],
    findings: Sequence[Finding],
) -> int:
    """Insert a run and its findings in the caller's transaction; returns the run id."""
    inserted = conn.execute(
        insert(consistency_runs).values(
            site=site,
            mode=mode,
            status=status,
            reason=reason,
            started=started,
            finished=finished,
            summary=json.dumps(summary, sort_keys=True),
        )
    ).inserted_primary_key
    assert inserted is not None
    run_id = int(inserted[0])
    rows = [{"run_id": run_id, **f.to_json()} for f in findings]
    for start in range(0, len(rows), _INSERT_CHUNK):
        conn.execute(insert(consistency_files), rows[start : start + _INSERT_CHUNK])
    return run_id


def previously_missing(conn: Connection, site: str) -> set[str]:
    """LFNs found missing by the site's last real (not dry) run."""
    runs = consistency_runs
    last = conn.execute(
        select(func.max(runs.c.id)).where(runs.c.site == site, runs.c.mode == "run")
    ).scalar()
    if last is None:
        return set()
    query = select(consistency_files.c.lfn).where(
        consistency_files.c.run_id == last,
        consistency_files.c.kind.in_(("missing", "lost")),
    )
    return {lfn for lfn in conn.execute(query).scalars() if lfn is not None}


def _run(row: Any) -> RunRow:
    return RunRow(
        id=row.id,
        site=row.site,
        mode=row.mode,
        status=row.status,
        reason=row.reason,
        started=row.started,
        finished=row.finished,
        summary=json.loads(row.summary),
    )


def list_runs(
    engine: Engine, *, site: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[RunRow]:
    """Runs newest first, of one site if given, older than ``before_id`` if given."""
    query = select(consistency_runs).order_by(consistency_runs.c.id.desc()).limit(limit)
    if site is not None:
        query = query.where(consistency_runs.c.site == site)
    if before_id is not None:
        query = query.where(consistency_runs.c.id < before_id)
    with engine.connect() as conn:
        return [_run(row) for row in conn.execute(query)]


def latest_runs(engine: Engine) -> list[RunRow]:
    """The newest run of every site, by site name."""
    newest = select(func.max(consistency_runs.c.id)).group_by(consistency_runs.c.site)
    query = select(consistency_runs).where(consistency_runs.c.id.in_(newest.scalar_subquery()))
    with engine.connect() as conn:
        return sorted((_run(row) for row in conn.execute(query)), key=lambda r: r.site)


def get_run(engine: Engine, run_id: int) -> RunRow:
    """One run (NotFoundError if there is none with this id)."""
    with engine.connect() as conn:
        row = conn.execute(select(consistency_runs).where(consistency_runs.c.id == run_id)).first()
    if row is None:
        raise NotFoundError(f"no consistency run {run_id}")
    return _run(row)


def run_files(
    engine: Engine,
    run_id: int,
    *,
    kind: str | None = None,
    limit: int = 1000,
    after_id: int | None = None,
) -> list[FileRow]:
    """The files of a run in id order, of one kind if given, after ``after_id`` if given."""
    get_run(engine, run_id)
    files = consistency_files
    query = select(files).where(files.c.run_id == run_id).order_by(files.c.id).limit(limit)
    if kind is not None:
        query = query.where(files.c.kind == kind)
    if after_id is not None:
        query = query.where(files.c.id > after_id)
    with engine.connect() as conn:
        return [
            FileRow(
                id=row.id,
                kind=row.kind,
                path=row.path,
                lfn=row.lfn,
                size=row.size,
                expected_size=row.expected_size,
                action=row.action,
                detail=row.detail,
            )
            for row in conn.execute(query)
        ]
