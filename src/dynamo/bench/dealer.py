"""`dynamo bench dealer`: a full Dealer cycle on a generated inventory, timed.

Loads the inventory once (then ``gc.freeze``, as the server does), makes ``requests`` copy
requests (in a memory registry: the database's is left alone) for random datasets at random
T2 sites, a synthetic job queue asking for ``popular`` datasets, and runs one dry-run cycle
with every plug-in -- copy requests, the enforcer with the packaged CMS Physics rules,
popularity, balancer, undertaker -- reading the sites' transfer record and the latest Detox
cycle from the database and writing the cycle's history as a test cycle. Reports the wall
seconds with each part's share and what the plan decided.
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path
from typing import Any

from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.loadbench import current_rss_bytes
from dynamo.dealer import (
    DealerConfig,
    DealerOptions,
    MemoryJobQueue,
    PlugInSettings,
    SyntheticJobQueue,
    run_cycle,
)
from dynamo.model import Inventory
from dynamo.policy import partition_compiler
from dynamo.registry import MemoryRegistryStore, RequestDraft, RequestKind
from dynamo.store import SqlInventoryStore

__all__ = ["bench_dealer"]


def bench_dealer(
    url: str,
    *,
    requests: int = 500,
    popular: int = 2000,
    enforcer_rules: Path | None = None,
    now: int = REFERENCE_TIME,
    seed: int = 0,
) -> dict[str, Any]:
    """Load once, then one dry-run cycle with every plug-in; JSON-able figures."""
    store = SqlInventoryStore.open(url)
    try:
        started = time.perf_counter()
        inventory, _seq = store.load(partition_compiler(now=now))
        load_seconds = time.perf_counter() - started
        gc.collect()
        gc.freeze()
        rng = random.Random(seed)
        registry = _requests(inventory, requests, rng, now)
        jobs = _jobs(inventory, popular, rng, now)
        config = _config(enforcer_rules)
        started = time.perf_counter()
        result = run_cycle(
            inventory,
            config,
            now=now,
            engine=store.engine,
            registry=registry,
            job_queue=jobs,
            dry_run=True,
            seed=seed,
        )
        seconds = time.perf_counter() - started
        plan = result.plan
        return {
            "database": store.engine.url.render_as_string(hide_password=True),
            "objects": inventory.num_objects,
            "load_seconds": round(load_seconds, 1),
            "rss_after_load_bytes": current_rss_bytes(),
            "requests": requests,
            "popular_datasets": popular,
            "seconds": round(seconds, 2),
            "parts": {k: round(v, 2) for k, v in result.seconds.items()},
            "copies": len(plan.copies),
            "copies_by_plugin": plan.summary()["copies_by_plugin"],
            "volume_bytes": plan.volume,
            "rejections": plan.rejection_counts(),
            "cycle": result.cycle_id,
        }
    finally:
        store.close()


def _requests(
    inventory: Inventory, count: int, rng: random.Random, now: int
) -> MemoryRegistryStore:
    registry = MemoryRegistryStore()
    names = sorted(inventory.datasets)
    sites = sorted(name for name in inventory.sites if name.startswith("T2_"))
    for index in range(count if names and sites else 0):
        draft = RequestDraft(
            kind=RequestKind.COPY,
            user=f"user{index % 50}",
            dn=f"/CN=user{index % 50}",
            items=(rng.choice(names),),
            sites=tuple(sorted(rng.sample(sites, min(3, len(sites))))),
            group="AnalysisOps",
            n=1,
        )
        registry.submit_request(draft, now - rng.randrange(86_400))
    return registry


def _jobs(inventory: Inventory, count: int, rng: random.Random, now: int) -> MemoryJobQueue:
    queue = SyntheticJobQueue(inventory.datasets, count, seed=rng.randrange(2**31))
    return MemoryJobQueue(queue.queued_jobs(now))


def _config(enforcer_rules: Path | None) -> DealerConfig:
    plugins = [
        PlugInSettings(name="requests", kind="requests", priority=1),
        PlugInSettings(name="undertaker", kind="undertaker", priority=2),
        PlugInSettings(name="popularity", kind="popularity", priority=3),
        PlugInSettings(name="balancer", kind="balancer", priority=3),
    ]
    if enforcer_rules is not None:
        plugins.append(
            PlugInSettings(
                name="enforcer",
                kind="enforcer",
                priority=2,
                config={"rules": [str(enforcer_rules)]},
            )
        )
    options = DealerOptions(
        target_sites=("T1_*_Disk", "T2_*"),
        target_occupancy=0.93,
        max_pending_fraction=0.03,
    )
    return DealerConfig(options=options, plugins=tuple(plugins))
