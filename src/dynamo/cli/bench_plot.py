"""`dynamo bench plot`: PNGs of the JSON reports of bench commands (dynamo.bench.plots)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["PlotKind", "plot", "write_plot"]


class PlotKind(StrEnum):
    PEER = "peer"
    API = "api"
    SCALING = "scaling"


def _scaling_point(path: Path, report: dict[str, Any]) -> dict[str, Any]:
    """A `dynamo bench detox --json` report as one point of cost against inventory size."""
    cycle = report["cycles"][0]
    return {
        "scale": path.stem.rsplit("-", 1)[-1].upper(),
        "objects": report["objects"],
        "load_seconds": report["load_seconds"],
        "load_rss_bytes": report.get("rss_after_load_bytes"),
        "detox_seconds": cycle["seconds"],
        "detox_plan_seconds": cycle.get("parts", {}).get("plan"),
        "detox_extra_rss_bytes": cycle.get("extra_rss_bytes"),
    }


def write_plot(kind: PlotKind, reports: list[tuple[Path, dict[str, Any]]], out: Path) -> Path:
    """Plot ``reports`` (path, JSON document) of one kind into the PNG ``out``."""
    from dynamo.bench import plots  # matplotlib is imported only when a plot is made

    if kind is PlotKind.PEER:
        return plots.plot_peer(reports[0][1], out)
    if kind is PlotKind.API:
        return plots.plot_latency(reports[0][1], out)
    return plots.plot_scaling([_scaling_point(p, r) for p, r in reports], out)


def plot(
    kind: Annotated[PlotKind, typer.Argument(help="peer, api or scaling.")],
    reports: Annotated[
        list[Path],
        typer.Argument(
            help="JSON reports: one of `bench peer rucio` or `bench api`, or several of "
            "`bench detox` (one per scale, named ...-xs.json, ...-s.json).",
            exists=True,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The PNG to write.")],
) -> None:
    """Write a PNG of benchmark reports (peer comparison, latency distribution, scaling)."""
    loaded = [(path, json.loads(path.read_text())) for path in reports]
    Console(stderr=True).print(f"wrote {write_plot(kind, loaded, out)}")
