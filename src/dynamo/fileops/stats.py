"""Counts over the file-operation tables for monitoring: the queue by status, and finished
tasks per time bucket (the transfer page's chart)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from dynamo.fileops.ports import OpKind
from dynamo.store.schema.fileops import fileop_history, fileop_subscriptions

__all__ = ["Bucket", "queue_counts", "throughput"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tasks that finished in ``[start, start + width)``."""

    start: int
    done: int
    failed: int
    bytes_done: int


def queue_counts(engine: Engine, kind: OpKind) -> dict[str, int]:
    """Subscriptions of ``kind`` by status (every status present, zero included)."""
    subs = fileop_subscriptions
    query = (
        select(subs.c.status, func.count()).where(subs.c.kind == kind.value).group_by(subs.c.status)
    )
    counts = dict.fromkeys(("new", "inbatch", "retry", "held", "done", "cancelled"), 0)
    with engine.connect() as conn:
        for status, count in conn.execute(query):
            counts[status] = int(count)
    return counts


def throughput(
    engine: Engine, kind: OpKind, *, now: int, window: int = 86_400, width: int = 3600
) -> list[Bucket]:
    """Finished tasks of ``kind`` per ``width`` seconds over the ``window`` before ``now``,
    oldest first, every bucket present (zeros included)."""
    first = (now - window) // width * width
    table = fileop_history
    bucket = (table.c.finished - first) // width  # integer division on every backend
    done = table.c.status == "done"
    query = (
        select(
            bucket.label("bucket"),
            func.sum(case((done, 1), else_=0)),
            func.sum(case((done, 0), else_=1)),
            func.sum(case((done, table.c.size), else_=0)),
        )
        .where(table.c.kind == kind.value, table.c.finished >= first, table.c.finished <= now)
        .group_by("bucket")
    )
    found: dict[int, tuple[int, int, int]] = {}
    with engine.connect() as conn:
        for index, ok, failed, size in conn.execute(query):
            found[int(index)] = (int(ok or 0), int(failed or 0), int(size or 0))
    count = (now - first) // width + 1
    return [Bucket(first + i * width, *found.get(i, (0, 0, 0))) for i in range(count)]
