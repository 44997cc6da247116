"""The inventory's side of a check: the files a site should hold, and those not to judge yet.

A site should hold every file of the blocks it has a complete replica of, and, for incomplete
replicas, the files file operations delivered (done transfer subscriptions: the updater keeps
them until the replica is complete). Files with a subscription still pending at the site, or a
done one the updater has not folded in yet, are "in flight": a check never classifies them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from sqlalchemy import Engine, and_, or_, select

from dynamo.store.schema import block_replicas, blocks, datasets, files, sites
from dynamo.store.schema.fileops import fileop_subscriptions

__all__ = ["ExpectedFile", "expected_files", "in_flight"]

_PENDING = ("new", "inbatch", "retry", "held")
_BLOCKS_PER_QUERY = 500
_ROWS_PER_FETCH = 20_000


class ExpectedFile(NamedTuple):
    """A file the inventory places at the site; ``since`` is when its replica last changed.

    A tuple: millions are made per check, and a tuple is the cheapest immutable record."""

    lfn: str
    size: int
    adler32: str
    dataset: str
    block: str
    since: int


def expected_files(engine: Engine, site: str) -> dict[str, ExpectedFile]:
    """Every file the inventory says ``site`` holds, by LFN (streamed from the database)."""
    found: dict[str, ExpectedFile] = {}
    for lfn, size, adler32, dataset, block, since in _complete(engine, site):
        found[lfn] = ExpectedFile(lfn, size, adler32, dataset, block, since)
    for lfn, size, adler32, dataset, block, since in _delivered(engine, site):
        if lfn not in found:
            found[lfn] = ExpectedFile(lfn, size, adler32, dataset, block, since)
    return found


def _complete(engine: Engine, site: str) -> Iterator[tuple[str, int, str, str, str, int]]:
    """Files of the site's complete block replicas: the blocks first (a few thousand rows),
    then their files by block id, so that the files table is read through its index."""
    br = block_replicas
    query = (
        select(blocks.c.id, datasets.c.name, blocks.c.name, br.c.last_update)
        .select_from(br)
        .join(sites, sites.c.id == br.c.site_id)
        .join(blocks, blocks.c.id == br.c.block_id)
        .join(datasets, datasets.c.id == blocks.c.dataset_id)
        .where(sites.c.name == site)
        .where(
            or_(
                br.c.size.is_(None),
                and_(br.c.size == blocks.c.size, br.c.num_files == blocks.c.num_files),
            )
        )
    )
    of_file = select(files.c.lfn, files.c.size, files.c.adler32, files.c.block_id)
    with engine.connect() as conn:
        held = {row[0]: (row[1], row[2], row[3]) for row in conn.execute(query)}
        ids = sorted(held)
        # the driver's cursor straight: millions of rows, and SQLAlchemy's rows cost 3 us each
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for start in range(0, len(ids), _BLOCKS_PER_QUERY):
                chunk = of_file.where(files.c.block_id.in_(ids[start : start + _BLOCKS_PER_QUERY]))
                sql = chunk.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
                cursor.execute(str(sql))
                while rows := cursor.fetchmany(_ROWS_PER_FETCH):
                    for lfn, size, adler32, block_id in rows:
                        dataset, block, since = held[block_id]
                        yield lfn, size, adler32, dataset, block, since
        finally:
            cursor.close()


def _delivered(engine: Engine, site: str) -> Iterator[tuple[str, int, str, str, str, int]]:
    subs = fileop_subscriptions
    query = select(
        subs.c.lfn, subs.c.size, subs.c.adler32, subs.c.dataset, subs.c.block, subs.c.updated
    ).where(subs.c.site == site, subs.c.kind == "transfer", subs.c.status == "done")
    with engine.connect() as conn:
        for row in conn.execute(query):
            yield row[0], row[1], row[2], row[3], row[4], row[5]


def in_flight(engine: Engine, site: str) -> set[str]:
    """LFNs with a file operation at ``site`` that the inventory does not reflect yet: pending
    transfers and deletions, and done deletions not folded in by the updater."""
    subs = fileop_subscriptions
    query = select(subs.c.lfn).where(
        subs.c.site == site,
        or_(
            subs.c.status.in_(_PENDING),
            and_(subs.c.kind == "deletion", subs.c.status == "done"),
        ),
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())
