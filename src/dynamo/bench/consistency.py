"""`dynamo bench consistency`: comparing a site listing of N files with the inventory.

Two figures, each with its memory:

1. *inventory side*: :func:`dynamo.consistency.expected_files` reading the N files a site holds
   from a database (complete block replicas joined with their files), written beforehand in
   bulk: what a check reads before it lists the storage;
2. *comparison*: :func:`dynamo.consistency.compare` and :func:`~dynamo.consistency.decide`
   over a synthetic listing of the same files (CMS-like LFNs, 1,000 files per block), with
   0.1 % missing, 0.1 % orphans and 0.01 % wrong sizes planted, the checked directories' empty
   directories included. The listing is built in memory first: the time of listing a real
   storage element (network bound) is not part of the figure.

Targets (reference/performance.md): 400,000 files <= 5 s; 4,000,000 files <= 60 s and <= 3 GiB.
"""

from __future__ import annotations

import gc
import random
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from dynamo.bench.loadbench import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from dynamo.consistency import ConsistencyConfig, ExpectedFile, compare, decide, expected_files
from dynamo.model import (
    ChangeSet,
    Inventory,
    Operation,
    UpsertBlock,
    UpsertBlockReplica,
    UpsertDataset,
    UpsertDatasetReplica,
    UpsertGroup,
    UpsertSite,
)
from dynamo.storage import FileStat
from dynamo.store import SqlInventoryStore
from dynamo.store.schema import blocks, datasets, files

__all__ = ["bench_consistency", "synthetic_site"]

SITE = "T2_US_MIT"
_FILES_PER_BLOCK = 1000
_BLOCKS_PER_DATASET = 50
_NOW = 1_700_000_000
_OLD = datetime.fromtimestamp(_NOW - 90 * 86_400, UTC)


def _lfn(index: int) -> str:
    block = index // _FILES_PER_BLOCK
    dataset = block // _BLOCKS_PER_DATASET
    return (
        f"/store/mc/RunIISummer20UL18MiniAODv2/Bench{dataset:05d}_TuneCP5_13TeV-pythia8/"
        f"MINIAODSIM/106X_upgrade2018_realistic_v16_L1v1-v2/{block % 1000:04d}0000/"
        f"{index:08X}-5A4B-2C4D-8E9F-{index:012X}.root"
    )


def _dataset(block: int) -> str:
    number = block // _BLOCKS_PER_DATASET
    return f"/Bench{number:05d}_TuneCP5_13TeV-pythia8/RunIISummer20UL18MiniAODv2-v2/MINIAODSIM"


def synthetic_site(
    count: int, seed: int = 0
) -> tuple[dict[str, ExpectedFile], list[FileStat], dict[str, int]]:
    """The expected files of a site, a listing of it with planted differences, and how many of
    each were planted."""
    rng = random.Random(seed)
    expected: dict[str, ExpectedFile] = {}
    listing: list[FileStat] = []
    planted = {"missing": 0, "orphan": 0, "size_mismatch": 0}
    directories: set[str] = set()
    for index in range(count):
        lfn = _lfn(index)
        block = index // _FILES_PER_BLOCK
        size = 2_000_000_000 + index
        expected[lfn] = ExpectedFile(lfn, size, "", _dataset(block), f"b{block}", 0)
        directory = lfn.rsplit("/", 1)[0]
        if directory not in directories:
            directories.add(directory)
            listing.append(FileStat(directory, 0, _OLD, is_dir=True))
        draw = rng.random()
        if draw < 0.001:
            planted["missing"] += 1
            continue
        if draw < 0.0011:
            planted["size_mismatch"] += 1
            size += 1
        listing.append(FileStat(lfn, size, _OLD))
        if rng.random() < 0.001:
            planted["orphan"] += 1
            listing.append(FileStat(lfn + ".dark", 1, _OLD))
    return expected, listing, planted


def _write_inventory(url: str, expected: dict[str, ExpectedFile]) -> None:
    """The site's datasets, blocks and complete replicas through a commit; the files in bulk."""
    by_block: dict[tuple[str, str], list[ExpectedFile]] = {}
    for item in expected.values():
        by_block.setdefault((item.dataset, item.block), []).append(item)
    ops: list[Operation] = [UpsertGroup(name="AnalysisOps"), UpsertSite(name=SITE)]
    for dataset in dict.fromkeys(dataset for dataset, _ in by_block):
        ops.append(UpsertDataset(name=dataset))
        ops.append(UpsertDatasetReplica(dataset=dataset, site=SITE, group="AnalysisOps"))
    for (dataset, block), members in by_block.items():
        size = sum(m.size for m in members)
        ops.append(UpsertBlock(dataset=dataset, name=block, size=size, num_files=len(members)))
        ops.append(
            UpsertBlockReplica(
                dataset=dataset,
                block=block,
                site=SITE,
                group="AnalysisOps",
                size=size,
                num_files=len(members),
            )
        )
    store = SqlInventoryStore.open(url, upgrade=True)
    try:
        store.commit(ChangeSet.of(ops), Inventory())
        with store.engine.begin() as conn:
            ids = {
                (dataset, block): ident
                for ident, block, dataset in conn.execute(
                    select(blocks.c.id, blocks.c.name, datasets.c.name).join(
                        datasets, datasets.c.id == blocks.c.dataset_id
                    )
                )
            }
            rows = [
                {"block_id": ids[(m.dataset, m.block)], "lfn": m.lfn, "size": m.size, "adler32": ""}
                for m in expected.values()
            ]
            for start in range(0, len(rows), 50_000):
                conn.execute(insert(files), rows[start : start + 50_000])
    finally:
        store.close()


def _measure(work: Any) -> tuple[Any, float, int | None]:
    gc.collect()
    before = current_rss_bytes()
    can_reset = reset_peak_rss()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    return result, seconds, (peak_rss_bytes() - before) if can_reset else None


def bench_consistency(url: str, count: int, *, seed: int = 0) -> dict[str, Any]:
    """Both figures for a site of ``count`` files (see the module docstring)."""
    expected, listing, planted = synthetic_site(count, seed)
    _write_inventory(url, expected)
    store = SqlInventoryStore.open(url)
    try:
        read, read_seconds, read_rss = _measure(lambda: expected_files(store.engine, SITE))
    finally:
        store.close()
    assert len(read) == count
    del read
    config = ConsistencyConfig(
        directories=("/store/mc",), max_missing=count, max_orphan=count, checksum_sample=0
    )

    def run() -> Any:
        comparison = compare(expected, listing, in_flight=set(), config=config, now=_NOW)
        decisions = decide(
            comparison, previously_missing=set(), has_other_copy=lambda f: True, config=config
        )
        return comparison, decisions

    (comparison, _decisions), seconds, rss = _measure(run)
    found = {
        "missing": len(comparison.missing),
        "orphan": len(comparison.orphans),
        "size_mismatch": len(comparison.size_mismatch),
    }
    if found != planted:
        raise AssertionError(f"the comparison found {found}, {planted} were planted")
    return {
        "files": count,
        "database": url.split("://", 1)[0],
        "inventory_read_seconds": round(read_seconds, 2),
        "inventory_read_extra_rss_bytes": read_rss,
        "compare_seconds": round(seconds, 2),
        "compare_extra_rss_bytes": rss,
        "files_per_second": round(count / seconds) if seconds else None,
        "found": found,
        "rss_bytes": current_rss_bytes(),
    }
