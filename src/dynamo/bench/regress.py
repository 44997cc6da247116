"""`dynamo bench regress`: the XS benchmarks as a regression guard with generous limits.

Runs a short version of each benchmark at scale XS (generate, load, Detox, Dealer, REST reads,
injection, LFN->PFN, file operations, consistency) and compares every figure with the one
recorded in ``data/regress-xs.json``: a figure more than ``factor`` times worse than recorded
(default 5; plus an absolute slack for sub-second times, which jitter most) fails the run. The
limits are loose on purpose: CI machines are shared and slow; this catches a change that makes
something several times slower, not a few percent. ``--record`` writes the baseline from a run.

Nothing here asserts in a unit test: it is a command, run by ``scripts/bench-xs.sh`` after the
tests in CI.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from dynamo.bench.api import bench_api, bench_inject
from dynamo.bench.build import build_database
from dynamo.bench.consistency import bench_consistency
from dynamo.bench.dealer import bench_dealer
from dynamo.bench.detox import bench_detox
from dynamo.bench.fileops import bench_fileops
from dynamo.bench.loadbench import measure_load, store_loader
from dynamo.bench.peer.rucio_env import recreate_database
from dynamo.bench.scales import scale_named
from dynamo.bench.storage import bench_pfn
from dynamo.policy import partition_compiler

__all__ = ["BASELINE", "Figure", "Verdict", "compare", "run_xs"]

BASELINE = Path(str(files("dynamo.bench") / "data" / "regress-xs.json"))
Better = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    better: Better
    slack: float = 0.0
    """Absolute allowance added to the limit of a ``lower`` figure (seconds jitter)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    name: str
    value: float
    recorded: float | None
    limit: float | None
    unit: str
    ok: bool


def compare(figures: list[Figure], baseline: dict[str, Any], factor: float) -> list[Verdict]:
    """Each figure against its recorded value: fails when ``factor`` times worse (a figure
    with no recorded value passes, and says so)."""
    verdicts = []
    for f in figures:
        recorded = baseline.get(f.name, {}).get("value")
        if recorded is None:
            verdicts.append(Verdict(f.name, f.value, None, None, f.unit, True))
            continue
        if f.better == "lower":
            limit = recorded * factor + f.slack
            ok = f.value <= limit
        else:
            limit = recorded / factor
            ok = f.value >= limit
        verdicts.append(Verdict(f.name, f.value, recorded, round(limit, 3), f.unit, ok))
    return verdicts


@contextmanager
def _database(name: str) -> Iterator[str]:
    url = recreate_database(name).replace("+psycopg", "")
    try:
        yield url
    finally:
        recreate_database(name, create=False)


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def run_xs(progress: Callable[[str], None] = lambda _: None) -> list[Figure]:
    """Every XS figure of the guard (about a minute on an idle 2-core machine)."""
    physics = Path(str(files("dynamo.bench") / "data" / "dynamo_policies" / "Physics.txt"))
    out: list[Figure] = []
    with _database("dynamo_regress_xs") as url:
        progress("generate XS")
        seconds, _ = _timed(lambda: build_database(url, scale_named("xs"), force=True))
        out.append(Figure("generate XS", round(seconds, 2), "s", "lower", 2.0))
        progress("load XS")
        load = measure_load(url, store_loader, partition_compiler=partition_compiler())
        out.append(Figure("load XS", round(load.load_seconds, 3), "s", "lower", 1.0))
        progress("Detox XS")
        detox = bench_detox(url, [physics])
        out.append(Figure("Detox cycle XS", detox["cycles"][0]["seconds"], "s", "lower", 1.0))
        progress("Dealer XS")
        dealer = bench_dealer(url, requests=100, popular=200)
        out.append(Figure("Dealer cycle XS", dealer["seconds"], "s", "lower", 1.0))
        progress("REST reads XS")
        api = bench_api(url, clients=8, duration=5.0)
        out.append(Figure("REST reads XS", api["requests_per_second"], "req/s", "higher"))
        out.append(Figure("REST reads XS p99", api["p99_ms"], "ms", "lower", 50.0))
        if api["errors"]:
            out.append(Figure("REST reads XS errors", api["errors"], "errors", "lower"))
    progress("injection")
    inject = bench_inject(None, files=40_000, blocks=400, datasets=40, per_call=10_000)
    out.append(Figure("injection (SQLite)", inject["files_per_second"], "files/s", "higher"))
    progress("LFN->PFN")
    pfn = bench_pfn(50_000)
    out.append(Figure("LFN->PFN", pfn["overall_lfns_per_s"], "LFN/s", "higher"))
    with tempfile.TemporaryDirectory(prefix="dynamo-regress-") as tmp:
        progress("file operations")
        ops = bench_fileops(f"sqlite:///{tmp}/fileops.sqlite", count=5_000)
        out.append(Figure("file operations", ops["process_seconds"], "s", "lower", 2.0))
        progress("consistency")
        found = bench_consistency(f"sqlite:///{tmp}/consistency.sqlite", 50_000)
        out.append(Figure("consistency", found["compare_seconds"], "s", "lower", 1.0))
    return out


def baseline_of(figures: list[Figure], note: str) -> dict[str, Any]:
    return {f.name: {"value": f.value, "unit": f.unit, "note": note} for f in figures}


def load_baseline(path: Path = BASELINE) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return found
