"""`dynamo bench detox`: full Detox cycles on a generated inventory, timed and measured.

Loads the inventory from the database once (as the server does, then ``gc.freeze``), then runs
one dry-run cycle per policy file through :func:`dynamo.detox.run_cycle`: the default producers
reading the database, the plan, and the history written as a test cycle (every decision row).
Per cycle it reports the wall seconds (and the producers', plan's and history's shares), the
memory the cycle added on top of the loaded image (peak RSS during the cycle minus RSS before
it), and what the plan decided.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.loadbench import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from dynamo.detox import PolicySource, run_cycle
from dynamo.policy import partition_compiler
from dynamo.store import SqlInventoryStore

__all__ = ["bench_detox"]


def bench_detox(
    url: str,
    policies: list[Path],
    *,
    partition: str = "Physics",
    partitions_file: Path | None = None,
    now: int = REFERENCE_TIME,
) -> dict[str, Any]:
    """Load once, then one dry-run cycle per policy; JSON-able figures."""
    store = SqlInventoryStore.open(url)
    try:
        started = time.perf_counter()
        inventory, _seq = store.load(partition_compiler(now=now))
        load_seconds = time.perf_counter() - started
        gc.collect()
        gc.freeze()
        cycles = []
        for policy in policies:
            gc.collect()
            before = current_rss_bytes()
            can_reset = reset_peak_rss()
            started = time.perf_counter()
            result = run_cycle(
                inventory,
                PolicySource(partition, policy, partitions_file),
                now=now,
                engine=store.engine,
                dry_run=True,
            )
            seconds = time.perf_counter() - started
            plan = result.plan
            triggered = [s for s in plan.sites if s.triggered]
            cycles.append(
                {
                    "policy": policy.name,
                    "policy_lines": len(result.policy_text.splitlines()),
                    "seconds": round(seconds, 2),
                    "parts": {k: round(v, 2) for k, v in result.seconds.items()},
                    "extra_rss_bytes": peak_rss_bytes() - before if can_reset else None,
                    "decisions": plan.counts(),
                    "deleted_block_replicas": len(plan.deletions),
                    "deleted_bytes": plan.deleted_bytes,
                    "iterations": plan.iterations,
                    "evaluations": plan.evaluations,
                    "safety_rule_kept": plan.safety_bites,
                    "triggered_sites": len(triggered),
                    "reached_low_watermark": sum(1 for s in triggered if s.reached_stop),
                    "cycle": result.cycle_id,
                }
            )
        return {
            "database": store.engine.url.render_as_string(hide_password=True),
            "objects": inventory.num_objects,
            "load_seconds": round(load_seconds, 1),
            "rss_after_load_bytes": current_rss_bytes(),
            "cycles": cycles,
        }
    finally:
        store.close()
