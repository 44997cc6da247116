"""`dynamo bench policy`: parse every real policy file, evaluate Physics over an inventory.

:func:`bench_policy` returns JSON-able figures. Without an inventory it builds an in-memory one
(:func:`synthetic_inventory`: real CMS dataset names, CMS partitions, disk and tape copies)
so the evaluation speed can be measured without a database.
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path
from typing import Any

from dynamo.bench.catalog import load_dataset_names
from dynamo.model import BulkLoader, Group, Inventory, SiteStatus, StorageType
from dynamo.policy import (
    Attributes,
    EvaluationContext,
    check_text,
    compile_policy,
    parse_partitions,
    parse_policy,
    partition_compiler,
)
from dynamo.policy.attributes import LAST_ACCESS, NUM_ACCESS, USAGE_RANK

__all__ = ["bench_policy", "synthetic_inventory"]

DAY = 86_400
NOW = 1_581_552_000  # 2020-02-13, the date of the policy snapshot
CMS_DATASET_REPLICAS = 1_000_000
CMS_BLOCK_REPLICAS = 9_000_000


def synthetic_inventory(
    partitions_text: str,
    *,
    dataset_replicas: int = 100_000,
    seed: int = 0,
    now: int = NOW,
    disk_owners: tuple[str | None, ...] = ("AnalysisOps",),
) -> tuple[Inventory, Attributes]:
    """About ``dataset_replicas`` replicas of real-named datasets over 80 sites, with attributes.

    Disk replicas not owned by DataOps belong to one of ``disk_owners`` (None: the null group).
    """
    rng = random.Random(seed)
    inventory = Inventory(partition_compiler=partition_compiler(now=now))
    loader = BulkLoader(inventory)
    owner_names = ("AnalysisOps", "DataOps", "RelVal", *(o for o in disk_owners if o))
    groups: dict[str | None, Group] = {
        name: loader.add_group(name) for name in dict.fromkeys(owner_names)
    }
    groups[None] = inventory.null_group
    for definition in parse_partitions(partitions_text):
        text = None
        if definition.condition is not None:
            line = partitions_text.split("\n")[definition.line - 1]
            text = line[line.find(":") + 1 :].strip()
        loader.define_partition(
            definition.name, condition=text, subpartitions=definition.subpartitions
        )
    disks = [loader.add_site(f"T2_XX_Site{i:02d}") for i in range(60)]
    disks += [loader.add_site(f"T1_X{i}_Disk") for i in range(7)]
    disks.append(loader.add_site("T2_YY_Morgue", status=SiteStatus.MORGUE))
    tapes = [loader.add_site(f"T1_X{i}_MSS", storage_type=StorageType.MSS) for i in range(7)]
    names = load_dataset_names()
    attributes = Attributes()
    made = 0
    index = 0
    while made < dataset_replicas:
        base = names[index % len(names)]
        primary, processed, tier = base[1:].split("/")
        name = (
            base if index < len(names) else f"/{primary}/{processed}-x{index // len(names)}/{tier}"
        )
        index += 1
        updated = now - rng.randint(1, 900) * DAY
        dataset = loader.add_dataset(name, last_update=updated)
        blocks = [
            loader.add_block(
                dataset,
                f"{index:08x}-0000-4000-8000-{b:012x}",
                size=rng.randint(1, 500) * 10**9,
                num_files=50,
                last_update=updated,
            )
            for b in range(rng.randint(1, 15))
        ]
        sites = rng.sample(disks, rng.randint(1, 4))
        if rng.random() < 0.7:
            sites.append(rng.choice(tapes))
        for site in sites:
            if site.storage_type is StorageType.MSS or rng.random() < 0.2:
                owner = groups["DataOps"]
            elif len(disk_owners) == 1:
                owner = groups[disk_owners[0]]
            else:
                owner = groups[rng.choice(disk_owners)]
            replica = loader.add_dataset_replica(dataset, site, owner)
            for block in blocks:
                complete = rng.random() > 0.02
                loader.add_block_replica(
                    replica,
                    block,
                    owner,
                    size=None if complete else block.size // 2,
                    last_update=updated + rng.randint(0, 50) * DAY,
                )
            made += 1
            if rng.random() < 0.01:
                attributes.lock(name, site.name)
        attributes.set_dataset(USAGE_RANK, name, rng.uniform(0, 300))
        attributes.set_dataset(NUM_ACCESS, name, rng.choice((0, 0, 1, 10, 100)))
        attributes.set_dataset(LAST_ACCESS, name, now - rng.randint(0, 700) * DAY)
    return loader.finish(), attributes


def _timed_parse(path: Path) -> tuple[float, int]:
    text = path.read_text(encoding="utf-8")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        check_text(text, file=str(path))
        best = min(best, time.perf_counter() - start)
    return best, len(text.encode())


def _evaluate(
    inventory: Inventory, policy_path: Path, attributes: Attributes, partition: str | None
) -> dict[str, Any]:
    policy = parse_policy(policy_path.read_text(encoding="utf-8"))
    compiled = compile_policy(policy, now=NOW)
    found = inventory.partitions.get(partition) if partition else None
    ctx = EvaluationContext(now=NOW, attributes=attributes, partition=found)
    replicas = list(inventory.iter_dataset_replicas())
    block_replicas = sum(len(r.block_replicas) for r in replicas)
    passes = []
    for _ in range(2):  # the first pass also matches each new dataset name against the policy
        ctx.new_pass()
        start, cpu_start = time.perf_counter(), time.process_time()
        decisions = 0
        for replica in replicas:
            decisions += len(compiled.evaluate(replica, ctx))
        passes.append((time.process_time() - cpu_start, time.perf_counter() - start))
    seconds, wall = passes[0]  # CPU time: the box is shared
    per_replica = seconds / max(len(replicas), 1)
    warm = passes[1][0] / max(len(replicas), 1)
    return {
        "policy": policy_path.name,
        "dataset_replicas": len(replicas),
        "block_replicas": block_replicas,
        "decisions": decisions,
        "cpu_seconds": round(seconds, 3),
        "wall_seconds": round(wall, 3),
        "ns_per_dataset_replica": round(per_replica * 1e9),
        "ns_per_block_replica": round(seconds / max(block_replicas, 1) * 1e9),
        "ns_per_dataset_replica_second_pass": round(warm * 1e9),
        "extrapolated_cms_seconds_second_pass": round(warm * CMS_DATASET_REPLICAS, 1),
        "extrapolated_cms_seconds": round(
            max(
                per_replica * CMS_DATASET_REPLICAS,
                seconds / max(block_replicas, 1) * CMS_BLOCK_REPLICAS,
            ),
            1,
        ),
    }


def bench_policy(
    inventory: Inventory | None, policy_dir: Path, *, replicas: int = 100_000
) -> dict[str, Any]:
    """Parse times of every file under ``policy_dir``; Physics and the largest campaign evaluated.

    ``policy_dir`` is a dynamo-policies checkout (``detox/``, ``partitions.txt``, ``common/``).
    Without ``inventory``, a synthetic one of about ``replicas`` dataset replicas is built.
    """
    files = sorted(
        p
        for p in policy_dir.rglob("*")
        if p.suffix in (".txt", ".json") and p.name not in ("SOURCE.txt",)
    )
    parse = {}
    for path in files:
        seconds, size = _timed_parse(path)
        parse[str(path.relative_to(policy_dir))] = {"bytes": size, "seconds": round(seconds, 4)}
    attributes = Attributes()
    build_seconds = 0.0
    if inventory is None:
        start = time.perf_counter()
        inventory, attributes = synthetic_inventory(
            (policy_dir / "partitions.txt").read_text(encoding="utf-8"), dataset_replicas=replicas
        )
        build_seconds = time.perf_counter() - start
    detox = policy_dir / "detox"
    largest = max(detox.rglob("*.txt"), key=lambda p: p.stat().st_size)
    gc.freeze()  # as the application runner does before evaluating a snapshot
    try:
        evaluations = [
            _evaluate(inventory, detox / "Physics.txt", attributes, "Physics"),
            _evaluate(inventory, largest, attributes, None),
        ]
    finally:
        gc.unfreeze()
    return {
        "parse": parse,
        "parse_total_seconds": round(sum(v["seconds"] for v in parse.values()), 3),
        "inventory": inventory.counts(),
        "inventory_build_seconds": round(build_seconds, 1),
        "evaluate": evaluations,
    }
