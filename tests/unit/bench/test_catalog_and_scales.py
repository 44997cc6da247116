from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.bench.catalog import (
    load_dataset_names,
    load_partition_definitions,
    load_phedex_node_names,
    parse_partition_definitions,
)
from dynamo.bench.scales import SCALES, Scale, scale_named
from dynamo.bench.sites import real_t2_names
from dynamo.errors import ConfigurationError


def test_the_packaged_name_lists_equal_the_test_fixtures(fixtures_dir: Path) -> None:
    names = (fixtures_dir / "dynamo-policies" / "dataset_names.txt").read_text().split()
    assert load_dataset_names() == tuple(names)
    assert len(load_dataset_names()) == 5131
    assert "T1_US_FNAL_Disk" in load_phedex_node_names()


def test_the_real_partition_file_gives_fourteen_definitions_with_three_superpartitions() -> None:
    definitions = {d.name: d for d in load_partition_definitions()}
    assert len(definitions) == 14
    assert definitions["Physics"].subpartitions == ("AnalysisOps", "DataOpsDisk", "PhysicsTape")
    assert definitions["DataOps"].condition_text is None
    assert definitions["IB RelVal"].condition_text == (
        "blockreplica.owner == IB RelVal and site.storage_type == DISK"
    )


def test_partition_lines_keep_their_condition_text_as_written() -> None:
    parsed = parse_partition_definitions("# c\n\nX:  site.name == T2_*  \nY: [X]\n")
    assert [(d.name, d.condition_text, d.subpartitions) for d in parsed] == [
        ("X", "site.name == T2_*", ()),
        ("Y", None, ("X",)),
    ]


def test_scale_m_has_the_seventy_one_cms_nodes() -> None:
    assert SCALES["m"].num_sites == 71
    assert len(real_t2_names()) == 54
    assert SCALES["s"].datasets * 10 == SCALES["m"].datasets
    assert SCALES["l"].files == 2 * SCALES["m"].files


def test_an_unknown_scale_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown scale 'xxl'"):
        scale_named("xxl")
    assert scale_named("XS") is SCALES["xs"]


def test_a_scale_with_fewer_blocks_than_datasets_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="datasets <= blocks"):
        Scale(name="bad", datasets=10, blocks=5, files=100, t1_sites=1, t2_sites=1)
