"""The inventory's side of a check: the files a site should hold, and those not to judge yet.

A site should hold every file of the blocks it has a complete replica of, and, for incomplete
replicas, the files file operations delivered (done transfer subscriptions: the updater keeps
them until the replica is complete). Files with a subscription still pending at the site, or a
done one the updater has not folded in yet, are "in flight": a check never classifies them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, and_, or_, select

from dynamo.store.schema import block_replicas, blocks, datasets, files, sites
from dynamo.store.schema.fileops import fileop_subscriptions

__all__ = ["ExpectedFile", "expected_files", "in_flight"]

_PENDING = ("new", "inbatch", "retry", "held")
_ROWS_PER_FETCH = 20_000


@dataclass(frozen=True, slots=True)
class ExpectedFile:
    """A file the inventory places at the site; ``since`` is when its replica last changed."""

    lfn: str
    size: int
    adler32: str
    dataset: str
    block: str
    since: int


def expected_files(engine: Engine, site: str) -> dict[str, ExpectedFile]:
    """Every file the inventory says ``site`` holds, by LFN (streamed from the database)."""
    found: dict[str, ExpectedFile] = {}
    names: dict[str, str] = {}  # one string object per dataset and block name
    for lfn, size, adler32, dataset, block, since in _complete(engine, site):
        dataset = names.setdefault(dataset, dataset)
        block = names.setdefault(block, block)
        found[lfn] = ExpectedFile(lfn, size, adler32, dataset, block, since)
    for lfn, size, adler32, dataset, block, since in _delivered(engine, site):
        if lfn not in found:
            found[lfn] = ExpectedFile(lfn, size, adler32, dataset, block, since)
    return found


def _complete(engine: Engine, site: str) -> Iterator[tuple[str, int, str, str, str, int]]:
    br = block_replicas
    query = (
        select(
            files.c.lfn,
            files.c.size,
            files.c.adler32,
            datasets.c.name,
            blocks.c.name,
            br.c.last_update,
        )
        .select_from(files)
        .join(blocks, blocks.c.id == files.c.block_id)
        .join(datasets, datasets.c.id == blocks.c.dataset_id)
        .join(br, br.c.block_id == blocks.c.id)
        .join(sites, sites.c.id == br.c.site_id)
        .where(sites.c.name == site)
        .where(
            or_(
                br.c.size.is_(None),
                and_(br.c.size == blocks.c.size, br.c.num_files == blocks.c.num_files),
            )
        )
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_ROWS_PER_FETCH)
        for row in result.execute(query):
            yield row[0], row[1], row[2], row[3], row[4], row[5]


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
