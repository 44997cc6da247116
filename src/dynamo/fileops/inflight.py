"""Reading the batches in flight: their tasks with what the backends and the history need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, select

from dynamo.fileops.endpoints import Endpoints
from dynamo.fileops.ports import BatchSpec, OpKind, TaskSpec
from dynamo.store.schema.fileops import fileop_batches, fileop_subscriptions, fileop_tasks

__all__ = ["InFlightBatch", "TaskInfo", "load_batches", "task_spec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskInfo:
    """A task row with its subscription's fields (for the history and the decisions)."""

    task_id: int
    subscription_id: int
    kind: OpKind
    lfn: str
    site: str
    size: int
    adler32: str
    source_site: str | None
    source_path: str | None
    path: str
    task_status: str
    subscription_status: str
    origin: str
    created: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InFlightBatch:
    """A batch row, its spec for the backend, and its tasks by id."""

    spec: BatchSpec
    status: str
    tasks: Mapping[int, TaskInfo]
    updated: int = 0
    """When the batch row last changed: for a ``submitted`` batch, when it was submitted."""


def task_spec(info: TaskInfo, endpoints: Endpoints) -> TaskSpec:
    """The backend's view of a task: site paths plus full URLs from the endpoints."""
    return TaskSpec(
        task_id=info.task_id,
        subscription_id=info.subscription_id,
        kind=info.kind,
        lfn=info.lfn,
        size=info.size,
        adler32=info.adler32,
        site=info.site,
        url=_url(endpoints, info.site, info.path),
        path=info.path,
        source_site=info.source_site,
        source_url=(
            None
            if info.source_site is None or info.source_path is None
            else _url(endpoints, info.source_site, info.source_path)
        ),
        source_path=info.source_path,
    )


def _url(endpoints: Endpoints, site: str, path: str) -> str:
    endpoint = endpoints.get(site)
    return path if endpoint is None else endpoint.url_of(path)


def load_batches(
    conn: Connection, endpoints: Endpoints, *, backends: Iterable[str] | None = None
) -> list[InFlightBatch]:
    """Every batch row (of ``backends`` when given) with its remaining tasks."""
    b, t, s = fileop_batches, fileop_tasks, fileop_subscriptions
    batch_query = select(
        b.c.id,
        b.c.kind,
        b.c.backend,
        b.c.source_site,
        b.c.site,
        b.c.status,
        b.c.staging,
        b.c.external_id,
        b.c.updated,
    ).order_by(b.c.id)
    task_query = (
        select(
            t.c.id,
            t.c.batch_id,
            t.c.subscription_id,
            t.c.source_site,
            t.c.source_path,
            t.c.path,
            t.c.status,
            s.c.kind,
            s.c.lfn,
            s.c.site,
            s.c.size,
            s.c.adler32,
            s.c.status,
            s.c.origin,
            s.c.created,
        )
        .select_from(t.join(s, t.c.subscription_id == s.c.id).join(b, t.c.batch_id == b.c.id))
        .order_by(t.c.id)
    )
    if backends is not None:
        names = sorted(set(backends))
        batch_query = batch_query.where(b.c.backend.in_(names))
        task_query = task_query.where(b.c.backend.in_(names))
    rows = conn.execute(batch_query).all()
    tasks: dict[int, dict[int, TaskInfo]] = {row[0]: {} for row in rows}
    for row in conn.execute(task_query):
        found = tasks.get(row[1])
        if found is None:
            continue  # a batch created after the batch query: next cycle
        found[row[0]] = TaskInfo(
            task_id=row[0],
            subscription_id=row[2],
            source_site=row[3],
            source_path=row[4],
            path=row[5],
            task_status=row[6],
            kind=OpKind(row[7]),
            lfn=row[8],
            site=row[9],
            size=row[10],
            adler32=row[11],
            subscription_status=row[12],
            origin=row[13],
            created=row[14],
        )
    result = []
    for id_, kind, backend, source_site, site, status, staging, external_id, updated in rows:
        infos = tasks[id_]
        spec = BatchSpec(
            batch_id=id_,
            kind=OpKind(kind),
            backend=backend,
            site=site,
            source_site=source_site,
            is_staging=bool(staging),
            external_id=external_id,
            tasks=tuple(task_spec(info, endpoints) for info in infos.values()),
        )
        result.append(InFlightBatch(spec=spec, status=status, tasks=infos, updated=updated))
    return result
