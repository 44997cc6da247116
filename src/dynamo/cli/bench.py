"""`dynamo bench`: build synthetic CMS-like inventories and measure the cold load."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from dynamo.bench.build import BuildReport, build_database
from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.loadbench import LoadReport, measure_load, store_loader
from dynamo.bench.scales import SCALES, scale_named
from dynamo.cli.output import fail, print_json
from dynamo.errors import DynamoError
from dynamo.policy import partition_compiler

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Synthetic CMS-like inventories and benchmarks.", no_args_is_help=True)

RequiredDb = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="DYNAMO_DB",
        help="Database URL: a file path or sqlite:///PATH, postgresql://..., mysql://...",
    ),
]


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


class _ProgressObserver:
    """Draws one progress bar per table (a BuildObserver)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def table_started(self, table: str, expected_rows: int) -> None:
        self.tasks[table] = self.progress.add_task(table, total=max(expected_rows, 1))

    def rows_written(self, table: str, count: int) -> None:
        self.progress.advance(self.tasks[table], count)

    def table_finished(self, table: str, rows: int, seconds: float) -> None:
        self.progress.update(self.tasks[table], total=rows, completed=rows)
        if not self.progress.console.is_terminal:  # a log file: one line per table
            rate = rows / seconds if seconds > 0 else 0.0
            self.progress.console.print(
                f"{table}: {rows:,} rows in {seconds:.1f} s ({rate:,.0f}/s)"
            )

    def step(self, message: str) -> None:
        self.progress.console.print(f"[dim]{message}[/dim]")


@bench_app.command("generate")
def generate(
    db: RequiredDb,
    scale: Annotated[str, typer.Option("--scale", help=f"One of {', '.join(SCALES)}.")] = "xs",
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Drop and recreate a database that is not empty.")
    ] = False,
    files: Annotated[
        bool, typer.Option("--files/--no-files", help="Write the files table (slow at M, L).")
    ] = True,
    reference_time: Annotated[
        int, typer.Option("--reference-time", help="'Now' of the generated history (epoch s).")
    ] = REFERENCE_TIME,
) -> None:
    """Write a synthetic CMS-like inventory of the given scale into an empty database."""
    console = Console(stderr=True)
    try:
        chosen = scale_named(scale)
        columns = (
            TextColumn("{task.description:<17}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            report = build_database(
                db,
                chosen,
                seed=seed,
                reference_time=reference_time,
                force=force,
                with_files=files,
                observer=_ProgressObserver(progress),
            )
    except DynamoError as exc:
        fail(exc)
    Console().print(_summary(report))


def _summary(report: BuildReport) -> Table:
    table = Table(title=f"scale {report.scale} on {report.backend}, seed {report.seed}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("rows/s", justify="right")
    for name, rows in report.rows.items():
        seconds = report.seconds[name]
        rate = f"{rows / seconds:,.0f}" if seconds > 0 else ""
        table.add_row(name, f"{rows:,}", f"{seconds:.1f}", rate)
    if "indexes" in report.seconds:
        table.add_row("(indexes)", "", f"{report.seconds['indexes']:.1f}", "")
    table.add_row("total", f"{report.total_rows:,}", f"{report.total_seconds:.1f}", "")
    pb = 10**15
    table.caption = (
        f"unique {report.unique_bytes / pb:,.1f} PB, "
        f"disk replicas {report.disk_bytes / pb:,.1f} PB, "
        f"tape replicas {report.tape_bytes / pb:,.1f} PB"
    )
    return table


@bench_app.command("load")
def load(
    db: RequiredDb,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    partitions: Annotated[
        bool,
        typer.Option(
            "--partitions/--no-partitions",
            help="Compile the partition conditions with the policy language.",
        ),
    ] = True,
) -> None:
    """Load the whole inventory cold and report seconds, peak RSS and bytes per object."""
    compiler = partition_compiler(now=REFERENCE_TIME) if partitions else None
    try:
        report = measure_load(db, store_loader, partition_compiler=compiler)
    except DynamoError as exc:
        fail(exc)
    if json:
        print_json(report.to_dict())
    else:
        Console().print(_load_table(report))


def _load_table(report: LoadReport) -> Table:
    table = Table(title=f"cold load ({report.backend}, scale {report.scale})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    mib = 1024 * 1024
    for name, count in report.counts.items():
        table.add_row(name, f"{count:,}")
    table.add_row("objects", f"{report.objects:,}")
    table.add_row("load seconds (wall)", f"{report.load_seconds:.1f}")
    table.add_row("CPU seconds", f"{report.cpu_seconds:.1f}")
    table.add_row("peak RSS", f"{report.peak_rss_bytes / mib:,.0f} MiB")
    table.add_row("bytes per object", f"{report.bytes_per_object:,.0f}")
    table.add_row("partitions compiled", "yes" if report.partition_compiler else "no")
    return table
