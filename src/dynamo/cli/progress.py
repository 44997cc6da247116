"""Progress display for long CLI work: per-table bars for builds, per-stage bars for loads."""

from __future__ import annotations

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
from rich.text import Text

from dynamo.model import Inventory, PartitionCompiler
from dynamo.store import SqlInventoryStore

__all__ = ["LoadProgress", "RateColumn", "TableProgress", "load_inventory", "row_progress"]


class RateColumn(ProgressColumn):
    """Rows per second of a task."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="cyan")


def row_progress(console: Console) -> Progress:
    """A Progress with a bar, a count, a rate and the elapsed time per task."""
    return Progress(
        TextColumn("{task.description:<17}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class TableProgress:
    """Draws one bar per table being written (a ``dynamo.bench.build.BuildObserver``)."""

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


class LoadProgress:
    """Draws one bar per stage of an inventory load (a ``dynamo.store.ProgressCallback``)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(task, completed=done, total=total)


def load_inventory(
    store: SqlInventoryStore, console: Console, compiler: PartitionCompiler | None = None
) -> Inventory:
    """The inventory of ``store`` (partitions compiled by ``compiler``), loaded under one bar
    per stage on ``console``."""
    with row_progress(console) as progress:
        inventory, _seq = store.load(compiler, progress=LoadProgress(progress))
    return inventory
