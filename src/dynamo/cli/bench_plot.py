"""`dynamo bench plot`: PNGs of the JSON reports of bench commands (dynamo.bench.plots)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from dynamo.cli.output import fail
from dynamo.errors import ConfigurationError

__all__ = ["PlotKind", "plot", "write_plot"]


class PlotKind(StrEnum):
    PEER = "peer"
    API = "api"
    SCALING = "scaling"
    SIZED = "sized"


def _scaling_point(path: Path, report: dict[str, Any]) -> dict[str, Any]:
    """A `dynamo bench detox --json` report as one point of cost against inventory size."""
    cycle = report["cycles"][0]
    return {
        "scale": _scale_of(path, report).upper(),
        "objects": report["objects"],
        "load_seconds": report["load_seconds"],
        "load_rss_bytes": report.get("rss_after_load_bytes"),
        "detox_seconds": cycle["seconds"],
        "detox_plan_seconds": cycle.get("parts", {}).get("plan"),
        "detox_extra_rss_bytes": cycle.get("extra_rss_bytes"),
    }


def _scale_of(path: Path, report: dict[str, Any]) -> str:
    return str(report.get("scale") or path.stem.rsplit("-", 1)[-1])


def _sized_points(path: Path, report: Any) -> list[dict[str, Any]]:
    """The (benchmark, scale, items, seconds) points of one ``--json`` report of a
    count-sized bench command (inject, pfn, list, fileops, consistency, userdata, policy)."""
    if isinstance(report, list):  # consistency: one report per site size
        return [p for one in report for p in _sized_points(path, one)]

    def point(benchmark: str, items: float, seconds: float) -> dict[str, Any]:
        return {
            "benchmark": benchmark,
            "scale": _scale_of(path, report),
            "items": items,
            "seconds": seconds,
        }

    if "calls" in report:  # inject
        return [point("injection (files)", report["files"], report["seconds"])]
    if "injections_per_second" in report:  # userdata
        return [point("user data (files)", report["files"], report["seconds"])]
    if "task_state_updates" in report:  # fileops
        return [point("file operations (tasks)", report["tasks"], report["process_seconds"])]
    if "found" in report:  # consistency
        read, compared = report["inventory_read_seconds"], report["compare_seconds"]
        return [point("consistency: read + compare (files)", report["files"], read + compared)]
    if "overall_lfns_per_s" in report:  # pfn: every protocol translates all the LFNs
        translated = report["lfns"] * len(report["protocols"])
        return [point("LFN->PFN (LFNs)", translated, translated / report["overall_lfns_per_s"])]
    if "files_per_directory" in report:  # list
        return [
            point(f"listing, {backend} (files)", found["listed"], found["seconds"])
            for backend in ("posix", "xrootd")
            if "seconds" in (found := report.get(backend, {}))
        ]
    if "evaluate" in report:  # policy: its own CPU time (the report's guide on a shared box)
        return [
            point(
                f"policy {row['policy']}, CPU s (dataset replicas)",
                row["dataset_replicas"],
                row["cpu_seconds"],
            )
            for row in report["evaluate"]
        ]
    raise ConfigurationError(f"{path}: not a report of a count-sized bench command")


def write_plot(kind: PlotKind, reports: list[tuple[Path, Any]], out: Path) -> Path:
    """Plot ``reports`` (path, JSON document) of one kind into the PNG ``out``."""
    from dynamo.bench import plots  # matplotlib is imported only when a plot is made

    if kind is PlotKind.PEER:
        return plots.plot_peer(reports[0][1], out)
    if kind is PlotKind.API:
        return plots.plot_latency(reports[0][1], out)
    if kind is PlotKind.SIZED:
        return plots.plot_sized([p for path, r in reports for p in _sized_points(path, r)], out)
    return plots.plot_scaling([_scaling_point(p, r) for p, r in reports], out)


def plot(
    kind: Annotated[PlotKind, typer.Argument(help="peer, api, scaling or sized.")],
    reports: Annotated[
        list[Path],
        typer.Argument(
            help="JSON reports: one of `bench peer rucio` or `bench api`, or several of "
            "`bench detox` (one per scale, named ...-xs.json, ...-s.json), or for sized any "
            "number of inject, pfn, list, fileops, consistency, userdata, policy reports.",
            exists=True,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The PNG to write.")],
) -> None:
    """Write a PNG of benchmark reports (peer comparison, latency distribution, scaling)."""
    loaded = [(path, json.loads(path.read_text())) for path in reports]
    try:
        written = write_plot(kind, loaded, out)
    except ConfigurationError as exc:
        fail(exc)
    Console(stderr=True).print(f"wrote {written}")
