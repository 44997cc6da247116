from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from dynamo.bench.names import DatasetNamer, block_uuid, lfn_prefix
from dynamo.model.entities import encode_block_name

# The real LFN shape (performance.md §4): area, era, primary, tier, processing-vN, counter, UUID.
LFN = re.compile(
    r"/store/(mc|data|unmerged)/[^/]+/[^/]+/[A-Z-]+/[^/]+-v\d+/\d{5,7}/[0-9A-F-]{36}\.root"
)


def test_the_lfn_pattern_matches_every_real_lfn_of_the_fixture(fixtures_dir: Path) -> None:
    real = (fixtures_dir / "WMCore" / "lfn_sample.txt").read_text().split()
    assert len(real) == 300
    assert all(LFN.fullmatch(lfn) for lfn in real)


def test_generated_lfns_have_the_real_shape_and_are_unique(
    tiny_tables: dict[str, list[tuple[Any, ...]]],
) -> None:
    lfns = [str(row[2]) for row in tiny_tables["files"]]
    assert all(LFN.fullmatch(lfn) for lfn in lfns)
    assert all(len(lfn) <= 512 for lfn in lfns)
    assert len(set(lfns)) == len(lfns)


def test_file_sizes_of_a_block_add_up_to_the_block_size(
    tiny_tables: dict[str, list[tuple[Any, ...]]],
) -> None:
    sizes: dict[int, int] = {}
    counts: dict[int, int] = {}
    for _id, block_id, _lfn, size, adler32 in tiny_tables["files"]:
        sizes[block_id] = sizes.get(block_id, 0) + size
        counts[block_id] = counts.get(block_id, 0) + 1
        assert size > 0
        assert re.fullmatch(r"[0-9a-f]{8}", adler32)
    for block_id, _ds, _name, size, num_files, _open, _t in tiny_tables["blocks"]:
        assert sizes[block_id] == size
        assert counts[block_id] == num_files


def test_block_names_are_canonical_uuids_held_as_ints_in_memory() -> None:
    name = block_uuid(random.Random(1))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", name)
    assert isinstance(encode_block_name(name), int)


def test_the_lfn_directory_splits_era_from_processing_string() -> None:
    assert (
        lfn_prefix("/BTag/Run2012A-22Jan2013-v1/AOD")
        == "/store/data/Run2012A/BTag/AOD/22Jan2013-v1"
    )
    assert lfn_prefix("/TT/RunIISummer16MiniAODv2-PUMoriond17_80X-v1/MINIAODSIM") == (
        "/store/mc/RunIISummer16MiniAODv2/TT/MINIAODSIM/PUMoriond17_80X-v1"
    )


def test_the_namer_hands_out_real_names_first_then_unique_recombinations() -> None:
    real = (
        "/A/Run2017B-v1/RAW",
        "/B/RunIISummer16-PU_80X-v1/AODSIM",
        "/C/RunIIFall17-PU_94X-v2/MINIAODSIM",
    )
    namer = DatasetNamer(random.Random(3), real)
    first = {namer.next_name() for _ in range(3)}
    assert first == set(real)
    derived = [namer.next_name() for _ in range(5)]
    assert len(set(derived) | first) == 8
    for name in derived:
        _, primary, processed, tier = name.split("/")
        base = processed.rsplit("-v", 1)[0]
        assert any(r.split("/")[3] == tier and r.split("/")[2].startswith(base) for r in real)
        if tier == "RAW":
            assert primary == "A"  # detector-data tiers take detector-data primaries
