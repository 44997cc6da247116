"""`--scale` sizes the count-sized benchmarks from the scale's numbers (dynamo.bench.sizing)."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest
from typer.testing import CliRunner

from dynamo.bench.scales import SCALES, Scale
from dynamo.bench.sizing import BenchSizes, sizes_for
from dynamo.cli.main import app

_COUNTS = [f.name for f in fields(BenchSizes) if f.name != "scale"]


def _numbers(sizes: BenchSizes) -> list[float]:
    out: list[float] = []
    for name in _COUNTS:
        value = getattr(sizes, name)
        out.extend(value if isinstance(value, tuple) else [value])
    return out


def test_at_m_every_benchmark_runs_the_scenario_of_performance_md() -> None:
    m = sizes_for(SCALES["m"])
    assert (m.inject_files, m.inject_blocks, m.inject_datasets) == (1_000_000, 10_000, 500)
    assert m.pfn_lfns == 1_000_000  # B9
    assert m.fileops_tasks == 1_000_000  # B8
    assert m.consistency_files == (400_000, 4_000_000)  # B7: a typical T2, a large T1 disk
    assert m.list_files == 400_000  # the typical T2 of B7
    assert m.policy_dataset_replicas == 1_000_000  # §5.1
    assert m.replication_rate == 1_000.0
    assert m.userdata_files == 50_000


@pytest.mark.parametrize(("name", "share"), [("s", 10), ("xs", 150)])
def test_smaller_scales_are_the_same_share_of_every_m_size(name: str, share: int) -> None:
    m, small = sizes_for(SCALES["m"]), sizes_for(SCALES[name])
    assert small.scale == name
    for at_m, here in zip(_numbers(m), _numbers(small), strict=True):
        assert here == pytest.approx(at_m / share, abs=0.5)


def test_l_is_twice_m_and_the_share_follows_the_matching_count() -> None:
    assert _numbers(sizes_for(SCALES["l"])) == [2 * n for n in _numbers(sizes_for(SCALES["m"]))]
    # blocks follow the scale's blocks, datasets its datasets, files its files
    odd = Scale(name="odd", datasets=30_000, blocks=3_000_000, files=6_000_000, t1_sites=1,
                t2_sites=1)  # fmt: skip
    sized = sizes_for(odd)
    assert (sized.inject_files, sized.inject_blocks, sized.inject_datasets) == (100_000, 10_000, 50)
    assert sized.replication_rate == 100.0


def test_a_tiny_scale_still_runs_at_least_one_of_each() -> None:
    tiny = Scale(name="tiny", datasets=1, blocks=1, files=1, t1_sites=1, t2_sites=0)
    assert min(_numbers(sizes_for(tiny))) > 0
    assert sizes_for(tiny).inject_datasets == 1


def test_the_command_takes_its_size_from_the_scale_and_an_explicit_count_wins() -> None:
    runner = CliRunner()
    sized = runner.invoke(app, ["bench", "pfn", "--scale", "xs", "--json"])
    assert sized.exit_code == 0, sized.output
    report = json.loads(sized.stdout)
    assert (report["lfns"], report["scale"]) == (sizes_for(SCALES["xs"]).pfn_lfns, "xs")
    given = runner.invoke(app, ["bench", "pfn", "--scale", "xs", "--lfns", "300", "--json"])
    assert given.exit_code == 0, given.output
    assert json.loads(given.stdout)["lfns"] == 300
    plain = runner.invoke(app, ["bench", "pfn", "--lfns", "300", "--json"])
    assert "scale" not in json.loads(plain.stdout)


def test_an_unknown_scale_is_refused_before_anything_runs() -> None:
    result = CliRunner().invoke(app, ["bench", "fileops", "--scale", "xxl", "--json"])
    assert result.exit_code != 0
    assert "unknown scale 'xxl'" in result.output
