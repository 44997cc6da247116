"""A small load benchmark of the store (not a test; run by hand, figures go to docs/store.md).

Usage: ``python tests/integration/store/load_benchmark.py URL DATASETS [SITES]``.
Fills an empty, migrated database with DATASETS datasets of 10 blocks, each dataset replicated
at every one of SITES sites (default 10) with all its blocks, 10 % of the block replicas
incomplete: DATASETS * 10 * SITES block replicas. Rows are inserted with SQLAlchemy Core
executemany (timed as "insert"), then ``SqlInventoryStore.load()`` runs three times (timed as
"load"; the median is reported with rows/s over all loaded rows).
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import insert

from dynamo.store import SqlInventoryStore, make_engine, migrate
from dynamo.store import schema as s

BLOCKS_PER_DATASET = 10


def fill(url: str, datasets: int, sites: int) -> int:
    engine = make_engine(url)
    rows = 0
    with engine.begin() as conn:
        conn.execute(insert(s.groups), [{"id": 1, "name": "AnalysisOps", "olevel": 2}])
        conn.execute(
            insert(s.sites),
            [
                {"id": i + 1, "name": f"T2_XX_Site{i}", "storage_type": 1, "status": 1}
                for i in range(sites)
            ],
        )
        conn.execute(
            insert(s.datasets),
            [
                {
                    "id": d + 1,
                    "name": f"/Primary{d}/Era-v1/AOD",
                    "status": 6,
                    "data_type": 7,
                    "software_version": "10.6.4.patch1",
                    "last_update": 1_500_000_000 + d,
                    "is_open": False,
                }
                for d in range(datasets)
            ],
        )
        blocks = datasets * BLOCKS_PER_DATASET
        for start in range(0, blocks, 50_000):
            conn.execute(
                insert(s.blocks),
                [
                    {
                        "id": b + 1,
                        "dataset_id": b // BLOCKS_PER_DATASET + 1,
                        "name": str(uuid.UUID(int=b + 1)),
                        "size": 10**9 + b,
                        "num_files": 20,
                        "is_open": False,
                        "last_update": 1_500_000_000,
                    }
                    for b in range(start, min(blocks, start + 50_000))
                ],
            )
        conn.execute(
            insert(s.dataset_replicas),
            [
                {"dataset_id": d + 1, "site_id": site + 1, "group_id": 1, "growing": False}
                for d in range(datasets)
                for site in range(sites)
            ],
        )
        batch = []
        for b in range(blocks):
            for site in range(sites):
                partial = (b + site) % 10 == 0
                batch.append(
                    {
                        "block_id": b + 1,
                        "site_id": site + 1,
                        "group_id": 1,
                        "is_custodial": False,
                        "size": 1000 if partial else None,
                        "num_files": 1 if partial else None,
                        "last_update": 1_500_000_000,
                    }
                )
            if len(batch) >= 50_000:
                conn.execute(insert(s.block_replicas), batch)
                rows += len(batch)
                batch = []
        if batch:
            conn.execute(insert(s.block_replicas), batch)
            rows += len(batch)
    engine.dispose()
    return rows + blocks + datasets * (1 + sites) + sites + 1


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main(url: str, datasets: int, sites: int) -> None:
    migrate(url)
    started = time.perf_counter()
    rows = fill(url, datasets, sites)
    inserted = time.perf_counter() - started
    print(f"insert: {rows} rows in {inserted:.1f} s ({rows / inserted:,.0f} rows/s)")
    store = SqlInventoryStore.open(url)
    times = []
    for run in range(3):
        rss = _rss_bytes()
        started = time.perf_counter()
        inventory, _ = store.load()
        times.append(time.perf_counter() - started)
        counts = inventory.counts()
        if run == 0:
            grown = _rss_bytes() - rss
            print(
                f"load: RSS grew by {grown / 2**20:.0f} MiB, {grown / sum(counts.values()):.0f} B/object"
            )
        del inventory
    median = statistics.median(times)
    objects = sum(counts.values())
    print(f"load: {objects} objects {counts}")
    print(
        f"load: median {median:.2f} s of {[round(t, 2) for t in times]} ({objects / median:,.0f} rows/s)"
    )
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 10)
