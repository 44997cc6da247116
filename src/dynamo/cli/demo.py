"""`dynamo demo`: the whole system on one machine, with nothing to set up.

Builds (or resumes) a grid of local site directories with a CMS-like inventory of real small
files in SQLite, starts the server (API and pages on http://127.0.0.1:8080, plain HTTP on
loopback) and a file-operations worker, runs synthetic user jobs, and shows what the
applications do: Detox deleting at the over-full site, Dealer placing popular data, transfers
and deletions, consistency repairing a planted missing file and deleting a planted orphan.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import fail, print_json
from dynamo.cli.progress import TableProgress, row_progress
from dynamo.demo.grid import DEMO_SCALE, GridLayout, GridReport, build_grid
from dynamo.demo.session import DemoOptions, DemoSession
from dynamo.demo.watch import Event, Summary
from dynamo.errors import DynamoError

__all__ = ["demo"]

ROLES = {
    "tape": "emulated tape (staging delay)",
    "full": "over-full: above the 90 % high watermark",
    "poor": "poor transfer record: Dealer avoids it",
    "disk": "disk",
}
STYLES = {"detox": "magenta", "dealer": "cyan", "fileops": "blue", "consistency": "yellow"}


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo grid, its database and logs live.")
    ] = Path("var/demo"),
    fresh: Annotated[
        bool,
        typer.Option("--fresh", help="Start clean: rebuild the grid (default: resume it)."),
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option("--duration", min=1.0, help="Stop after this many seconds (default: Ctrl-C)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port of the server on 127.0.0.1.")] = 8080,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the grid and jobs.")] = 1,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the whole system on a grid of local directories; watch it at http://127.0.0.1:8080."""
    console = Console(stderr=True)
    options = DemoOptions(directory=directory, port=port, seed=seed, fresh=fresh, duration=duration)
    try:
        session = DemoSession.prepare(options, build=lambda layout: _build(layout, seed, console))
        _introduce(console, session)
        started = time.monotonic()

        def show(event: Event) -> None:
            clock = f"{time.monotonic() - started:5.0f}s"
            style = STYLES.get(event.source, "")
            text = f"[{event.style}]{event.text}[/{event.style}]" if event.style else event.text
            console.print(
                f"[dim]{clock}[/dim] [{style}]{event.source:>11}[/{style}] {text}"
                if style
                else f"[dim]{clock}[/dim] {event.source:>11} {text}"
            )

        def ready() -> None:
            console.print(
                f"[bold green]the server is up[/bold green]: pages at [link]{session.url}/"
                f"[/link], API at {session.url}/api/v1 (plain HTTP on loopback, for the demo "
                "only: reads are open; writes come only from the demo's own jobs, through a DN "
                "header trusted from loopback)"
            )
            until = f"for {duration:.0f} s" if duration else "until Ctrl-C"
            console.print(f"running {until}; logs in {session.layout.root / 'logs'}")

        summary = session.run(show, ready)
    except DynamoError as exc:
        fail(exc)
    if json:
        print_json(summary.to_json())
        return
    _show_summary(Console(), summary)


def _build(layout: GridLayout, seed: int, console: Console) -> GridReport:
    console.print(
        f"building the demo grid in [bold]{layout.root}[/bold]: {DEMO_SCALE.datasets} CMS-like "
        "datasets with real small files (a TB of inventory is a MB on disk)"
    )
    with row_progress(console) as progress:
        observer = TableProgress(progress)
        files = progress.add_task("files", total=None)
        return build_grid(
            layout,
            seed=seed,
            observer=observer,
            on_files=lambda count: progress.advance(files, count),
        )


def _introduce(console: Console, session: DemoSession) -> None:
    grid = session.grid
    verb = "resuming" if session.resumed else "built"
    console.print(
        f"{verb} the grid in [bold]{session.layout.root}[/bold] ({grid.files_written:,} files, "
        f"{grid.bytes_written / 1e6:,.1f} MB); --fresh starts clean"
    )
    table = Table(title="demo sites")
    table.add_column("site")
    table.add_column("role")
    for site, role in sorted(grid.sites.items()):
        table.add_row(site, ROLES[role])
    console.print(table)
    missing_site, missing = grid.missing
    orphan_site, orphan = grid.orphan
    console.print(
        f"planted for consistency: a missing file at {missing_site} ({missing.rsplit('/', 1)[-1]})"
        f" and an orphan at {orphan_site} ({orphan})"
    )


def _show_summary(console: Console, summary: Summary) -> None:
    table = Table(title=f"what the demo did in {summary.seconds:.0f} s")
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in summary.counts.items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    table.add_row("user jobs run", f"{summary.jobs_run:,}")
    console.print(table)
    if summary.sites:
        sites = Table(title="sites in the last Detox cycle")
        for column in ("site", "quota MB", "before", "after", "triggered"):
            sites.add_column(column, justify="left" if column == "site" else "right")
        for site in summary.sites:
            sites.add_row(
                site["site"],
                f"{site['quota_bytes'] / 1e6:,.1f}",
                f"{site['occupancy_before']:.1%}",
                f"{site['occupancy_after']:.1%}",
                "yes" if site["triggered"] else "",
            )
        console.print(sites)
