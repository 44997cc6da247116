"""The XS inventory has the shape promised by performance.md §5.1 (checked on the rows)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dynamo.bench.generator import InventoryGenerator
from dynamo.bench.scales import SCALES
from dynamo.model.enums import StorageType

Tables = dict[str, list[tuple[Any, ...]]]
XS = SCALES["xs"]


def _site_types(tables: Tables) -> dict[int, int]:
    return {int(row[0]): int(row[3]) for row in tables["sites"]}


def test_counts_meet_the_xs_targets(xs_tables: Tables) -> None:
    assert len(xs_tables["sites"]) == XS.num_sites == 10
    assert len(xs_tables["datasets"]) == XS.datasets
    assert len(xs_tables["blocks"]) == XS.blocks
    files = sum(int(row[4]) for row in xs_tables["blocks"])
    assert files == pytest.approx(XS.files, rel=0.05)
    assert len(xs_tables["partitions"]) == 14


def test_every_site_name_is_a_real_cms_node(xs_tables: Tables, fixtures_dir: Path) -> None:
    pairs = json.loads((fixtures_dir / "WMCore" / "cric_pnn_psn_extract.json").read_text())
    disk_nodes = {pair["phedex_name"] for pair in pairs}
    tape_nodes = {n.replace("_Disk", "_MSS") for n in disk_nodes if n.startswith("T1_")}
    real = disk_nodes | tape_nodes | {"T0_CH_CERN_Disk", "T0_CH_CERN_MSS", "T1_UK_RAL_ECHO_MSS"}
    names = {str(row[1]) for row in xs_tables["sites"]}
    assert names <= real
    assert not any(name.startswith("T2_XX_") for name in names)


def test_dataset_names_are_unique_and_shaped_like_cms_names(xs_tables: Tables) -> None:
    names = [str(row[1]) for row in xs_tables["datasets"]]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"/[^/]+/[^/]+/[A-Z-]+", name) for name in names)


def test_the_first_dataset_names_are_real_ones(xs_tables: Tables, fixtures_dir: Path) -> None:
    real = set((fixtures_dir / "dynamo-policies" / "dataset_names.txt").read_text().split())
    names = {str(row[1]) for row in xs_tables["datasets"]}
    assert names <= real  # XS needs fewer names than the 5,131 real ones


def test_every_dataset_has_a_tape_replica_and_raw_has_two(xs_tables: Tables) -> None:
    types = _site_types(xs_tables)
    tape = Counter(
        int(row[0])
        for row in xs_tables["dataset_replicas"]
        if types[int(row[1])] == StorageType.MSS
    )
    tiers = {int(row[0]): str(row[1]).rsplit("/", 1)[1] for row in xs_tables["datasets"]}
    assert set(tape) == set(tiers)
    for dataset_id, tier in tiers.items():
        assert tape[dataset_id] == (2 if tier == "RAW" else 1)


def test_about_sixty_per_cent_of_datasets_have_a_disk_copy(xs_tables: Tables) -> None:
    types = _site_types(xs_tables)
    disk = Counter(
        int(row[0])
        for row in xs_tables["dataset_replicas"]
        if types[int(row[1])] == StorageType.DISK
    )
    assert len(disk) / XS.datasets == pytest.approx(0.6, abs=0.06)
    assert sum(disk.values()) / XS.datasets == pytest.approx(1.7, abs=0.25)


def test_owners_follow_the_promised_shares(xs_tables: Tables) -> None:
    groups = {int(row[0]): str(row[1]) for row in xs_tables["groups"]}
    types = _site_types(xs_tables)
    owners = Counter(
        groups.get(row[2])
        for row in xs_tables["dataset_replicas"]
        if types[int(row[1])] == StorageType.DISK
    )
    total = sum(owners.values())
    assert owners["AnalysisOps"] / total == pytest.approx(0.55, abs=0.05)
    assert owners["DataOps"] / total == pytest.approx(0.30, abs=0.05)
    assert owners["RelVal"] / total == pytest.approx(0.05, abs=0.03)


def test_blocks_per_dataset_are_heavy_tailed(xs_tables: Tables) -> None:
    per_dataset = Counter(int(row[1]) for row in xs_tables["blocks"])
    counts = sorted(per_dataset.values())
    assert counts[0] >= 1
    assert counts[len(counts) // 2] < XS.blocks / XS.datasets  # median below the mean
    assert counts[-1] == XS.largest_dataset_blocks


def test_about_a_fifth_of_disk_sites_are_above_the_high_watermark(xs_tables: Tables) -> None:
    groups = {str(row[1]): int(row[0]) for row in xs_tables["groups"]}
    parts = {str(row[1]): int(row[0]) for row in xs_tables["partitions"]}
    physics_owners = {groups["AnalysisOps"], groups["DataOps"]}
    block_size = {int(row[0]): int(row[3]) for row in xs_tables["blocks"]}
    used: Counter[int] = Counter()
    for block_id, site, group, _cust, size, _nf, _t in xs_tables["block_replicas"]:
        if group in physics_owners:
            used[int(site)] += block_size[int(block_id)] if size is None else int(size)
    quota: Counter[int] = Counter()
    for site, partition, value in xs_tables["quotas"]:
        if partition in (parts["AnalysisOps"], parts["DataOpsDisk"]):
            quota[int(site)] += int(value)
    disk_sites = [s for s, t in _site_types(xs_tables).items() if t == StorageType.DISK]
    occupancy = {site: used[site] / quota[site] for site in disk_sites}
    above = [site for site, value in occupancy.items() if value > 0.9]
    assert len(above) / len(disk_sites) == pytest.approx(0.2, abs=0.1)
    assert max(occupancy.values()) <= 1.1 + 1e-9


def test_some_block_replicas_are_incomplete_and_some_blocks_open(xs_tables: Tables) -> None:
    incomplete = [row for row in xs_tables["block_replicas"] if row[4] is not None]
    assert incomplete
    block = {int(row[0]): row for row in xs_tables["blocks"]}
    for block_id, *_rest, size, num_files, _t in incomplete:
        full = block[int(block_id)]
        assert int(num_files) < int(full[4])
        assert int(size) < int(full[3])
    assert any(row[5] for row in xs_tables["blocks"])


def test_expected_rows_match_the_rows_produced_where_exact() -> None:
    generator = InventoryGenerator(XS, seed=5)
    for table in ("groups", "sites", "partitions", "datasets", "blocks"):
        assert generator.expected_rows(table) == len(list(generator.rows(table))), table
