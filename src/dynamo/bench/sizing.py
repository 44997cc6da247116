"""How big the count-sized benchmarks run at a named scale (``--scale xs|s|m|l``).

Every such benchmark has one size at M, the scenario of performance.md §5.2 (B6 injection of
1M files, B7 consistency at 400k and 4M files, B8 1M file operations, B9 1M LFNs) or, where
§5.2 gives none, a documented choice. At another scale each size is the M size times that
scale's share of M in the quantity it stands for: its files for file-like counts, its blocks
for blocks, its datasets for datasets, dataset replicas and the rate of changes. The scales
keep those shares equal (XS 1/150, S 1/10, L 2), so every benchmark at S is a tenth of M.
docs/benchmarks.md ("Sizes at each scale") gives the table and the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.bench.scales import SCALES, Scale

__all__ = ["BenchSizes", "sizes_for"]

_M = SCALES["m"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchSizes:
    """The size of each count-sized benchmark at one scale."""

    scale: str
    inject_files: int
    """B6: 1M files at M, posted through the REST API."""
    inject_blocks: int
    """B6: 10,000 blocks at M (100 files each)."""
    inject_datasets: int
    """B6: 500 datasets at M (20 blocks each)."""
    pfn_lfns: int
    """B9: 1M LFNs at M, translated per protocol."""
    list_files: int
    """One typical T2 (B7's 400k files at M: 1 PB of 2.5 GB files), listed from storage."""
    fileops_tasks: int
    """B8: 1M transfers (and as many deletions) at M."""
    consistency_files: tuple[int, int]
    """B7: a typical T2 (400k files at M) and a large T1 disk (4M at M)."""
    policy_dataset_replicas: int
    """The ~1M dataset replicas of §5.1 at M, in the synthetic in-memory inventory."""
    replication_rate: float
    """ChangeSets offered per second: 1,000/s at M, proportional to the datasets (at least 1)."""
    userdata_files: int
    """Confirmed user-data injections: 50,000 at M (no §5.2 size: the run length only)."""


def _share(m_size: float, scale_count: int, m_count: int) -> float:
    return m_size * scale_count / m_count


def _count(m_size: int, scale_count: int, m_count: int) -> int:
    return max(1, round(_share(m_size, scale_count, m_count)))


def sizes_for(scale: Scale) -> BenchSizes:
    """Every count-sized benchmark's size at ``scale`` (see the module docstring)."""
    files, blocks, datasets = (
        (scale.files, _M.files),
        (scale.blocks, _M.blocks),
        (scale.datasets, _M.datasets),
    )
    return BenchSizes(
        scale=scale.name,
        inject_files=_count(1_000_000, *files),
        inject_blocks=_count(10_000, *blocks),
        inject_datasets=_count(500, *datasets),
        pfn_lfns=_count(1_000_000, *files),
        list_files=_count(400_000, *files),
        fileops_tasks=_count(1_000_000, *files),
        consistency_files=(_count(400_000, *files), _count(4_000_000, *files)),
        policy_dataset_replicas=_count(1_000_000, *datasets),
        replication_rate=max(1.0, round(_share(1_000.0, *datasets), 2)),
        userdata_files=_count(50_000, *files),
    )
