"""A canonical, plain-data description of an inventory, for comparisons and diffs.

Two inventories hold the same state exactly when their descriptions are equal, whatever the
order in which they were built. Used by tests (store round trips, log replay) and by tools
that compare a follower with its leader.
"""

from __future__ import annotations

from typing import Any

from dynamo.model.inventory import Inventory

__all__ = ["describe", "diff"]


def describe(inventory: Inventory) -> dict[str, Any]:
    """Every resident object's natural key and attributes, as sorted plain data."""
    sites = {
        site.name: {
            "host": site.host,
            "storage_type": site.storage_type.name,
            "backend": site.backend,
            "status": site.status.name,
            "quotas": {p.name: sp.quota for p, sp in site.partitions.items() if not p.is_super},
            "usage": {
                p.name: (sp.physical_bytes, sp.projected_bytes) for p, sp in site.partitions.items()
            },
        }
        for site in inventory.sites.values()
    }
    datasets = {}
    for dataset in inventory.datasets.values():
        datasets[dataset.name] = {
            "status": dataset.status.name,
            "data_type": dataset.data_type.name,
            "software_version": dataset.software_version,
            "last_update": dataset.last_update,
            "is_open": dataset.is_open,
            "size": dataset.size,
            "num_files": dataset.num_files,
            "blocks": {
                block.name: (block.size, block.num_files, block.is_open, block.last_update)
                for block in dataset.blocks.values()
            },
            "replicas": {
                site.name: {
                    "group": replica.group.name,
                    "growing": replica.growing,
                    "blocks": {
                        br.block.name: (
                            br.group.name,
                            br.is_custodial,
                            br.size,
                            br.num_files,
                            br.last_update,
                            sorted(
                                p.name
                                for p in inventory.partitions.partitions_in(br.partition_mask)
                            ),
                        )
                        for br in replica.block_replicas.values()
                    },
                }
                for site, replica in dataset.replicas.items()
            },
        }
    return {
        "groups": {g.name: g.olevel.name for g in inventory.groups.values() if g.name is not None},
        "partitions": {
            p.name: (p.condition_text, [s.name for s in p.subpartitions])
            for p in inventory.partitions
        },
        "sites": sites,
        "datasets": datasets,
        "counts": inventory.counts(),
    }


def diff(left: Inventory, right: Inventory, *, limit: int = 20) -> list[str]:
    """Human-readable differences between two inventories (empty when equal)."""
    out: list[str] = []
    _diff(describe(left), describe(right), "", out, limit)
    return out


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit or a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=repr):
            if key not in a:
                out.append(f"{path}/{key}: only on the right")
            elif key not in b:
                out.append(f"{path}/{key}: only on the left")
            else:
                _diff(a[key], b[key], f"{path}/{key}", out, limit)
    else:
        out.append(f"{path}: {a!r} != {b!r}")
