"""The bench plots are written as PNGs from the commands' JSON reports (Agg, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dynamo.bench.peer import Metric, report_json
from dynamo.cli.bench_plot import PlotKind, _sized_points, write_plot
from dynamo.errors import ConfigurationError

PNG = b"\x89PNG\r\n\x1a\n"
QUANTILES = [float(i) / 10 for i in range(101)]


def _peer_report() -> dict[str, Any]:
    metrics = [
        Metric(
            name="registration", dynamo=5000, rucio=100, unit="files/s", better="higher", target=100
        ),
        Metric(name="placement", dynamo=0.5, rucio=300, unit="s", better="lower", target=50),
    ]
    run = {"quantiles_ms": QUANTILES}
    listing = {k: {s: {"1": run, "16": run} for s in ("dynamo", "rucio")} for k in ("site",)}
    return report_json(
        metrics, scale={"name": "xs", "files": 2000, "sites": 12}, raw={"listing": listing}
    )


def test_the_peer_comparison_and_a_latency_distribution_are_pngs(tmp_path: Path) -> None:
    peer = write_plot(PlotKind.PEER, [(tmp_path, _peer_report())], tmp_path / "peer.png")
    assert peer.read_bytes().startswith(PNG)
    api = {
        "requests_per_second": 900,
        "p50_ms": 1.0,
        "p99_ms": 9.0,
        "quantiles_ms": QUANTILES,
        "by_kind": {"site": {"quantiles_ms": QUANTILES}},
    }
    latency = write_plot(PlotKind.API, [(tmp_path, api)], tmp_path / "img" / "api.png")
    assert latency.read_bytes().startswith(PNG)


def test_cost_against_size_takes_one_detox_report_per_scale(tmp_path: Path) -> None:
    reports = [
        (
            Path(f"detox-{name}.json"),
            {
                "objects": objects,
                "load_seconds": objects / 1e5,
                "rss_after_load_bytes": objects * 300,
                "cycles": [
                    {"seconds": objects / 2e5, "parts": {"plan": 0.1}, "extra_rss_bytes": 1e6}
                ],
            },
        )
        for name, objects in (("xs", 80_000), ("s", 1_200_000))
    ]
    out = write_plot(PlotKind.SCALING, reports, tmp_path / "scaling.png")
    assert out.read_bytes().startswith(PNG)


def _sized_reports(scale: str, n: int) -> list[tuple[Path, Any]]:
    """One report of every count-sized bench command at ``scale``, ``n`` items each."""
    listing = {"files_per_directory": 1000, "posix": {"listed": n, "seconds": 0.1}}
    policy = {"policy": "Physics.txt", "dataset_replicas": n, "cpu_seconds": 1}
    fileops = {"scale": scale, "task_state_updates": 1, "tasks": n, "process_seconds": 2.0}
    consistency = {"found": {}, "files": n, "inventory_read_seconds": 1, "compare_seconds": 1}
    return [
        (Path(f"inject-{scale}.json"), {"calls": 1, "files": n, "seconds": n / 2e4}),
        (Path(f"u-{scale}.json"), {"injections_per_second": 1, "files": n, "seconds": 1.0}),
        (Path("fileops.json"), fileops),
        (Path(f"consistency-{scale}.json"), [consistency]),
        (Path(f"pfn-{scale}.json"), {"lfns": n, "protocols": ["a"], "overall_lfns_per_s": 5e5}),
        (Path(f"list-{scale}.json"), listing | {"xrootd": {"skipped": "not installed"}}),
        (Path(f"policy-{scale}.json"), {"evaluate": [policy]}),
    ]


def test_cost_against_size_of_the_count_sized_benchmarks_reads_every_report_kind(
    tmp_path: Path,
) -> None:
    reports = _sized_reports("xs", 2_667) + _sized_reports("s", 40_000)
    out = write_plot(PlotKind.SIZED, reports, tmp_path / "sized.png")
    assert out.read_bytes().startswith(PNG)
    assert [p["scale"] for p in _sized_points(Path("fileops.json"), reports[2][1])] == ["xs"]
    assert _sized_points(*reports[3])[0]["seconds"] == 2


def test_a_report_of_another_command_is_refused_for_the_sized_plot(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a report of a count-sized"):
        write_plot(PlotKind.SIZED, [(Path("x.json"), {"objects": 1})], tmp_path / "x.png")
