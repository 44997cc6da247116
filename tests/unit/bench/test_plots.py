"""The bench plots are written as PNGs from the commands' JSON reports (Agg, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynamo.bench.peer import Metric, report_json
from dynamo.cli.bench_plot import PlotKind, write_plot

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
