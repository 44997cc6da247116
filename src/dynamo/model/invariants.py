"""Structural invariants of an inventory, checked from scratch.

The inventory maintains derived state incrementally (dataset sizes, partition masks, usage
counters, object counts, links in both directions). :func:`violations` recomputes all of it
and lists every disagreement; an empty list means the image is consistent.
"""

from __future__ import annotations

from collections import Counter

from dynamo.model.entities import Partition
from dynamo.model.inventory import Inventory

__all__ = ["violations"]


def violations(inventory: Inventory, *, limit: int = 50) -> list[str]:
    """Every broken invariant found (at most ``limit``), as readable sentences."""
    found: list[str] = []
    _check_datasets(inventory, found)
    _check_replicas(inventory, found)
    _check_usage(inventory, found)
    return found[:limit]


def _check_datasets(inventory: Inventory, found: list[str]) -> None:
    blocks = 0
    for name, dataset in inventory.datasets.items():
        if dataset.name != name:
            found.append(f"dataset indexed as {name!r} is named {dataset.name!r}")
        size = sum(block.size for block in dataset.blocks.values())
        num_files = sum(block.num_files for block in dataset.blocks.values())
        if (size, num_files) != (dataset.size, dataset.num_files):
            found.append(
                f"dataset {name}: size/files {dataset.size}/{dataset.num_files} "
                f"but its blocks sum to {size}/{num_files}"
            )
        for key, block in dataset.blocks.items():
            blocks += 1
            if block.dataset is not dataset or block.internal_name != key:
                found.append(f"block {block!r} is indexed under {name}#{key!r}")
        for site, replica in dataset.replicas.items():
            if inventory.sites.get(site.name) is not site:
                found.append(f"{replica!r} is at a site that is not in the inventory")
            if site.dataset_replicas.get(dataset) is not replica:
                found.append(f"{replica!r} is not linked from its site")
    if blocks != inventory.num_blocks:
        found.append(f"num_blocks is {inventory.num_blocks} but {blocks} blocks are linked")


def _check_replicas(inventory: Inventory, found: list[str]) -> None:
    dataset_replicas = block_replicas = 0
    for site in inventory.sites.values():
        for dataset, replica in site.dataset_replicas.items():
            dataset_replicas += 1
            if inventory.datasets.get(dataset.name) is not dataset:
                found.append(f"{replica!r} belongs to a dataset not in the inventory")
            if inventory.groups.get(replica.group.name) is not replica.group:
                found.append(f"{replica!r} is owned by unknown group {replica.group.name!r}")
            for block, block_replica in replica.block_replicas.items():
                block_replicas += 1
                if dataset.blocks.get(block.internal_name) is not block:
                    found.append(f"{block_replica!r} is of a block not in its dataset")
                if block_replica.block is not block or block_replica.site is not site:
                    found.append(f"{block_replica!r} is filed under the wrong block or site")
                if sum(1 for r in block.replicas if r is block_replica) != 1:
                    found.append(f"{block_replica!r} is not linked exactly once from its block")
                if inventory.groups.get(block_replica.group.name) is not block_replica.group:
                    found.append(f"{block_replica!r} is owned by an unknown group")
                expected = inventory.partitions.compute_mask(block_replica)
                if block_replica.partition_mask != expected:
                    found.append(f"{block_replica!r} has a stale partition mask")
    if dataset_replicas != inventory.num_dataset_replicas:
        found.append(
            f"num_dataset_replicas is {inventory.num_dataset_replicas} "
            f"but {dataset_replicas} are linked"
        )
    if block_replicas != inventory.num_block_replicas:
        found.append(
            f"num_block_replicas is {inventory.num_block_replicas} but {block_replicas} are linked"
        )


def _check_usage(inventory: Inventory, found: list[str]) -> None:
    for site in inventory.sites.values():
        physical: Counter[Partition] = Counter()
        projected: Counter[Partition] = Counter()
        for replica in site.iter_block_replicas():
            for partition in inventory.partitions.partitions_in(replica.partition_mask):
                physical[partition] += replica.size
                projected[partition] += replica.block.size
        for partition in inventory.partitions:
            usage = site.partitions.get(partition)
            if usage is None:
                found.append(f"site {site.name} has no usage record for {partition!r}")
                continue
            if (usage.physical_bytes, usage.projected_bytes) != (
                physical[partition],
                projected[partition],
            ):
                found.append(
                    f"{usage!r}: usage {usage.physical_bytes}/{usage.projected_bytes} but its "
                    f"replicas sum to {physical[partition]}/{projected[partition]}"
                )
