"""Synthetic user jobs: what physicists' analysis jobs would leave behind.

Each :meth:`SyntheticJobs.tick` runs a few jobs on datasets drawn with a Zipf-like law (a few
datasets are very popular, most are hardly read). A job reads its dataset at a disk site that
holds it: that is an access record for Detox's popularity producer (``num_access``,
``last_access``, ``usage_rank``). Jobs still waiting for the most wanted datasets are written
as the job-queue feed the Dealer's popularity plug-in reads (``request_weight``): enough of
them and Dealer places more copies. The hottest datasets change every ``HOT_TICKS`` ticks, as
analysis fashions do, so Dealer keeps finding something to place.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from dynamo.model.enums import DatasetStatus, StorageType
from dynamo.policy import partition_compiler
from dynamo.registry import Request, copy_draft
from dynamo.store import SqlInventoryStore
from dynamo.store.popularity import AccessRecord, day_of, record_accesses
from dynamo.store.registry import SqlRegistryStore
from dynamo.store.schema import dataset_replicas, datasets, sites

__all__ = ["SyntheticJobs", "request_a_copy"]

ZIPF_EXPONENT = 1.3
QUEUED_PER_TICK = 6
"""Jobs queued per tick for each of the hottest datasets."""
HOT_DATASETS = 3
HOT_TICKS = 12
"""Ticks a dataset stays among the hottest before the next takes its place."""
_USABLE = (DatasetStatus.VALID.value, DatasetStatus.PRODUCTION.value)


@dataclass(slots=True)
class SyntheticJobs:
    """Jobs on the datasets of ``engine``'s inventory (module docstring)."""

    engine: Engine
    job_feed: Path
    seed: int = 1
    jobs_per_tick: int = 40
    rng: random.Random = field(init=False)
    ranked: list[str] = field(init=False, default_factory=list)
    accesses: Counter[tuple[str, str, int]] = field(init=False, default_factory=Counter)
    queue: list[dict[str, object]] = field(init=False, default_factory=list)
    jobs_run: int = 0
    ticks: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(f"dynamo-demo:{self.seed}:jobs")
        with self.engine.connect() as conn:
            names = sorted(
                conn.execute(
                    select(datasets.c.name).where(datasets.c.status.in_(_USABLE))
                ).scalars()
            )
        self.rng.shuffle(names)
        self.ranked = names

    def tick(self, now: int) -> int:
        """Run this tick's jobs: record their accesses and rewrite the job feed; returns the
        number of jobs run."""
        holders = self._disk_holders()
        weights = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(self.ranked))]
        day = day_of(now)
        touched: set[tuple[str, str, int]] = set()
        for name in self.rng.choices(self.ranked, weights=weights, k=self.jobs_per_tick):
            where = holders.get(name)
            if not where:
                continue
            key = (name, self.rng.choice(where), day)
            self.accesses[key] += 1
            touched.add(key)
            self.jobs_run += 1
        if touched:
            record_accesses(
                self.engine,
                [
                    AccessRecord(
                        dataset=name,
                        site=site,
                        day=day,
                        num_accesses=self.accesses[(name, site, day)],
                        cpu_hours=2.0 * self.accesses[(name, site, day)],
                    )
                    for name, site, day in sorted(touched)
                ],
            )
        held = [name for name in self.ranked if name in holders]
        first = (self.ticks // HOT_TICKS) % max(1, len(held))
        hot = (held[first:] + held[:first])[:HOT_DATASETS]
        self.ticks += 1
        self.queue += [{"dataset": name, "jobs": QUEUED_PER_TICK, "queued": now} for name in hot]
        self._write_feed()
        return len(touched)

    def _disk_holders(self) -> dict[str, list[str]]:
        query = (
            select(datasets.c.name, sites.c.name)
            .select_from(dataset_replicas)
            .join(datasets, datasets.c.id == dataset_replicas.c.dataset_id)
            .join(sites, sites.c.id == dataset_replicas.c.site_id)
            .where(sites.c.storage_type == StorageType.DISK.value)
            .order_by(datasets.c.name, sites.c.name)
        )
        found: dict[str, list[str]] = {}
        with self.engine.connect() as conn:
            for dataset, site in conn.execute(query):
                found.setdefault(dataset, []).append(site)
        return found

    def _write_feed(self) -> None:
        """Replace the feed atomically (the Dealer may read it at any moment)."""
        partial = self.job_feed.with_suffix(".json.part")
        partial.write_text(json.dumps(self.queue[-200:]) + "\n")
        os.replace(partial, self.job_feed)


PHYSICIST = ("demo-physicist", "/DC=org/DC=demo/OU=Users/CN=demo-physicist")


def request_a_copy(db_url: str, *, seed: int, now: int) -> Request | None:
    """A physicist asks for a copy of a valid dataset at a T2 site that has none (what
    ``dynamo request copy`` sends); the Dealer's request plug-in places it at its next cycle.
    None when every dataset is everywhere already."""
    rng = random.Random(f"dynamo-demo:{seed}:request")
    store = SqlInventoryStore.open(db_url)
    try:
        inventory, _ = store.load(partition_compiler(now=now))
        t2 = sorted(name for name in inventory.sites if name.startswith("T2_"))
        wanted = [
            (dataset.name, site)
            for dataset in sorted(inventory.datasets.values(), key=lambda d: d.name)
            if dataset.status in (DatasetStatus.VALID, DatasetStatus.PRODUCTION)
            and any(held.storage_type is StorageType.DISK for held in dataset.replicas)
            for site in t2
            if inventory.sites[site] not in dataset.replicas
        ]
        if not wanted:
            return None
        dataset, site = rng.choice(wanted)
        user, dn = PHYSICIST
        draft = copy_draft(
            inventory, user=user, dn=dn, items=[dataset], sites=[site], group="AnalysisOps"
        )
        request, _ = SqlRegistryStore(store.engine).submit_request(draft, now)
        return request
    finally:
        store.close()
