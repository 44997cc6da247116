"""`dynamo bench regress`: the XS benchmarks against their recorded figures."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from json import dumps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.bench.regress import BASELINE, baseline_of, compare, load_baseline, run_xs
from dynamo.cli.output import JsonOption, fail, print_json
from dynamo.errors import ConfigurationError, DynamoError

__all__ = ["regress"]


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def regress(
    scale: Annotated[str, typer.Option("--scale", help="Only xs exists.")] = "xs",
    factor: Annotated[
        float, typer.Option("--factor", help="Fail when a figure is this many times worse.")
    ] = 5.0,
    baseline: Annotated[
        Path, typer.Option("--baseline", help="The recorded figures (JSON).")
    ] = BASELINE,
    record: Annotated[
        bool, typer.Option("--record", help="Write this run's figures as the baseline.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Run the XS benchmarks and fail if a figure is FACTOR times worse than recorded."""
    console = Console(stderr=True)
    try:
        if scale.lower() != "xs":
            raise ConfigurationError("the regression guard runs at scale xs only")
        figures = run_xs(progress=lambda step: console.log(step))
    except DynamoError as exc:
        fail(exc)
    if record:
        note = f"{datetime.now(UTC):%Y-%m-%d}, {_commit()}"
        baseline.write_text(dumps(baseline_of(figures, note), indent=2) + "\n")
        console.print(f"recorded {len(figures)} figures in {baseline}")
        return
    verdicts = compare(figures, load_baseline(baseline), factor)
    if json:
        print_json({"factor": factor, "figures": [v.__dict__ for v in verdicts]})
    else:
        table = Table("figure", "value", "recorded", "limit", "unit", "verdict")
        for v in verdicts:
            verdict = "ok" if v.ok else "[bold red]WORSE[/bold red]"
            table.add_row(v.name, f"{v.value:,}", f"{v.recorded}", f"{v.limit}", v.unit, verdict)
        Console().print(table)
    failed = [v for v in verdicts if not v.ok]
    # Not "N passed, N failed": CI reads such a line as the test runner's count.
    print(f"bench regress: {len(verdicts) - len(failed)} of {len(verdicts)} figures within limits")
    if failed:
        names = ", ".join(f"{v.name} ({v.value} {v.unit}, limit {v.limit})" for v in failed)
        console.print(f"[bold red]REGRESSION: {factor:g}x worse than recorded: {names}")
        raise typer.Exit(1)
