"""PNG plots of benchmark reports, where a curve says more than a number.

Each function takes the JSON document a bench command prints (``--json``) and writes one PNG
with matplotlib's Agg backend (no display needed):

- :func:`plot_peer` -- ``dynamo bench peer rucio``: the advantage of every compared figure
  against its target, and the listing latency distributions of both systems;
- :func:`plot_latency` -- ``dynamo bench api``: the latency distribution per kind of request;
- :func:`plot_scaling` -- ``dynamo bench load`` / ``dynamo bench detox`` at several scales:
  cost against inventory size;
- :func:`plot_sized` -- the count-sized benchmarks run with ``--scale`` at several scales:
  time, and time per item, against the items handled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # the backend is chosen first
from matplotlib.axes import Axes

__all__ = ["plot_latency", "plot_peer", "plot_scaling", "plot_sized"]

DYNAMO, RUCIO = "#1f77b4", "#d62728"


def _save(figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _cdf(axes: Axes, quantiles: Sequence[float], label: str, **style: Any) -> None:
    """A latency distribution as percentile (y) against milliseconds (x, log)."""
    if quantiles:
        axes.plot(quantiles, range(len(quantiles)), label=label, **style)


def plot_peer(report: Mapping[str, Any], path: Path) -> Path:
    """Left: Dynamo's advantage per figure (log scale; the issue's target as a mark).
    Right: listing latency, percentile against ms, both systems at 1 and 16 clients."""
    metrics = list(report["metrics"])
    figure, (bars, curves) = plt.subplots(1, 2, figsize=(13, 5.5))
    names = [m["name"] for m in metrics]
    values = [m["advantage"] or 0.0 for m in metrics]
    colors = [
        "#2ca02c" if m["meets_target"] else "#ff7f0e" if m["target"] else "#7f7f7f" for m in metrics
    ]
    rows = range(len(metrics))
    bars.barh(rows, values, color=colors)
    for row, metric in zip(rows, metrics, strict=True):
        if metric["target"]:
            bars.plot([metric["target"]] * 2, [row - 0.4, row + 0.4], color="black", lw=2)
        bars.annotate(
            f" {metric['advantage']}x", (max(metric["advantage"] or 1.0, 1.0), row), va="center"
        )
    bars.set_yticks(list(rows), names, fontsize=8)
    bars.invert_yaxis()
    bars.set_xscale("log")
    bars.axvline(1, color="grey", lw=0.8)
    bars.set_xlabel("Dynamo's advantage (x, log); black bar: target")
    scale = report.get("scale", {})
    bars.set_title(
        f"Dynamo vs Rucio, scale {scale.get('name', '?')}: "
        f"{scale.get('files', 0):,} files, {scale.get('sites', 0)} sites"
    )
    listing = report.get("raw", {}).get("listing", {})
    for kind, style in (("dataset", "-"), ("site", "--")):
        for side, color in (("dynamo", DYNAMO), ("rucio", RUCIO)):
            for clients, width in (("1", 0.6), ("16", 1.6)):
                run = listing.get(kind, {}).get(side, {}).get(clients)
                if run:
                    _cdf(
                        curves,
                        run.get("quantiles_ms", []),
                        f"{side} {kind}, {clients} client{'s' if clients != '1' else ''}",
                        color=color,
                        linestyle=style,
                        linewidth=width,
                    )
    curves.set_xscale("log")
    curves.set_xlabel("latency, ms (log)")
    curves.set_ylabel("percentile")
    curves.set_title("REST listing latency (same client, same requests)")
    curves.grid(True, which="both", alpha=0.3)
    curves.legend(fontsize=7, loc="lower right")
    return _save(figure, path)


def plot_latency(report: Mapping[str, Any], path: Path, *, title: str = "") -> Path:
    """``dynamo bench api``: percentile against ms for every kind of request and overall."""
    figure, axes = plt.subplots(figsize=(8, 5))
    for kind, found in sorted(report.get("by_kind", {}).items()):
        _cdf(axes, found.get("quantiles_ms", []), kind)
    _cdf(axes, report.get("quantiles_ms", []), "all", color="black", linewidth=2)
    axes.set_xscale("log")
    axes.set_xlabel("latency, ms (log)")
    axes.set_ylabel("percentile")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(
        title
        or f"REST reads: {report.get('requests_per_second', 0):,} req/s, "
        f"p50 {report.get('p50_ms')} ms, p99 {report.get('p99_ms')} ms"
    )
    return _save(figure, path)


def plot_scaling(points: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Cost against inventory size: each point is ``{scale, objects, load_seconds,
    load_rss_bytes, detox_seconds, detox_plan_seconds}`` (missing figures are skipped)."""
    ordered = sorted(points, key=lambda p: p["objects"])
    figure, (times, memory) = plt.subplots(1, 2, figsize=(12, 4.8))
    for key, label in (
        ("load_seconds", "cold load"),
        ("detox_seconds", "Detox cycle (Physics)"),
        ("detox_plan_seconds", "Detox plan"),
    ):
        found = [(p["objects"], p[key]) for p in ordered if p.get(key)]
        if found:
            times.plot(*zip(*found, strict=True), "o-", label=label)
    for p in ordered:
        times.annotate(p["scale"], (p["objects"], p.get("load_seconds") or 1), fontsize=8)
    times.set_xscale("log")
    times.set_yscale("log")
    times.set_xlabel("resident objects (log)")
    times.set_ylabel("seconds (log)")
    times.grid(True, which="both", alpha=0.3)
    times.legend()
    times.set_title("Time against inventory size")
    found = [
        (p["objects"], p["load_rss_bytes"] / 2**30) for p in ordered if p.get("load_rss_bytes")
    ]
    if found:
        memory.plot(*zip(*found, strict=True), "o-", label="RSS after load (the loading process)")
    extra = [
        (p["objects"], p["detox_extra_rss_bytes"] / 2**30)
        for p in ordered
        if p.get("detox_extra_rss_bytes")
    ]
    if extra:
        memory.plot(*zip(*extra, strict=True), "s-", label="Detox cycle, extra RSS")
    memory.set_xscale("log")
    memory.set_xlabel("resident objects (log)")
    memory.set_ylabel("GiB")
    memory.grid(True, which="both", alpha=0.3)
    memory.legend()
    memory.set_title("Memory against inventory size")
    return _save(figure, path)


def plot_sized(points: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Each point is ``{benchmark, scale, items, seconds}``: one curve per benchmark of wall
    seconds (left) and microseconds per item (right) against the items handled (log)."""
    figure, (times, per_item) = plt.subplots(1, 2, figsize=(15, 5.2))
    curves: dict[str, list[Mapping[str, Any]]] = {}
    for point in points:
        curves.setdefault(point["benchmark"], []).append(point)
    for name, found in sorted(curves.items()):
        ordered = sorted(found, key=lambda p: p["items"])
        items = [p["items"] for p in ordered]
        (line,) = times.plot(items, [p["seconds"] for p in ordered], "o-", label=name)
        costs = [p["seconds"] / p["items"] * 1e6 for p in ordered]
        per_item.plot(items, costs, "o-", color=line.get_color(), label=name)
        for p, cost in zip(ordered, costs, strict=True):
            times.annotate(f" {p['scale'].upper()}", (p["items"], p["seconds"]), fontsize=7)
            per_item.annotate(f" {p['scale'].upper()}", (p["items"], cost), fontsize=7)
    for axes in (times, per_item):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("items handled (files, LFNs, tasks, dataset replicas; log)")
        axes.grid(True, which="both", alpha=0.3)
    times.set_ylabel("wall seconds (log)")
    times.set_title("Time against size (XS, S, M)")
    per_item.set_ylabel("microseconds per item (log)")
    per_item.set_title("Cost per item: flat = linear in the size")
    per_item.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)
