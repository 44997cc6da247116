"""The REST benchmarks run end to end on tiny inputs (figures are not asserted, shapes are)."""

from __future__ import annotations

from pathlib import Path

from dynamo.bench.api import bench_api, bench_inject
from dynamo.bench.build import build_database
from dynamo.bench.scales import Scale


def test_bench_inject_injects_every_file_through_the_api() -> None:
    report = bench_inject(files=2_000, blocks=40, datasets=8, per_call=500)
    assert (report["files"], report["blocks"], report["datasets"]) == (2_000, 40, 8)
    assert report["calls"] == 4
    assert report["files_per_second"] > 0


def test_bench_api_drives_a_real_server_process_without_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "api.sqlite")
    tiny = Scale(
        name="tiny",
        datasets=50,
        blocks=200,
        files=400,
        t1_sites=1,
        t2_sites=3,
        with_t0=False,
        with_ral_echo=False,
    )
    build_database(db, tiny, seed=3)
    report = bench_api(db, clients=4, duration=2.0, background_app="inventory-stats")
    assert report["errors"] == 0
    assert report["background_runs"]
    assert {run["status"] for run in report["background_runs"]} == {"done"}
    assert report["requests"] > 0
    assert set(report["by_kind"]) <= {"dataset", "blockreplicas", "site", "sites"}
