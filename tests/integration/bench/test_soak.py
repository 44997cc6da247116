"""`dynamo bench soak` in miniature: a real server on PostgreSQL under mixed reads and
injections while Detox and Dealer run; no error answers, every background run done, the
server's memory sampled (the 10-minute figures are in docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from dynamo.bench.build import build_database
from dynamo.bench.scales import Scale
from dynamo.bench.soak import bench_soak

TINY = Scale(
    name="tiny", datasets=60, blocks=240, files=1_200, t1_sites=1, t2_sites=3,
    with_t0=False, with_ral_echo=False,
)  # fmt: skip


def test_a_short_soak_answers_everything_and_runs_both_applications(
    database_url_factory: Callable[[str], str], tmp_path: Path
) -> None:
    url = database_url_factory("postgresql")
    build_database(url, TINY, seed=3)
    policies = files("dynamo.bench").joinpath("data/dynamo_policies")
    policy, partitions = tmp_path / "Physics.txt", tmp_path / "partitions.txt"
    policy.write_text(policies.joinpath("Physics.txt").read_text())
    partitions.write_text(policies.joinpath("partitions.txt").read_text())
    report = bench_soak(
        url,
        policy=policy,
        partitions=partitions,
        clients=3,
        duration=10.0,
        sample_seconds=1.0,
        reads_only_tail=3.0,
    )
    assert report["errors"] == 0
    assert report["injections"] > 0
    assert report["by_kind"]["inject"]["requests"] == report["injections"]
    runs = report["background_runs"]
    assert runs["detox"]["runs"] >= 1
    assert runs["detox"]["failed"] == 0
    assert runs["dealer"]["failed"] == 0
    assert len(report["rss_mb_samples"]) >= 3
    assert report["rss_mb_max"] >= report["rss_mb_start"] > 0
    assert report["rss_mb_max"] >= report["rss_mb_end_of_mixed"] > 0
    assert report["rss_kb_per_injection"] is not None
