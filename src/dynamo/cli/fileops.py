"""`dynamo fileops worker|run`: the standalone transfer worker and one manager cycle.

``worker`` claims batches from the database and moves or deletes files (many workers on any
number of hosts with PostgreSQL or MariaDB; one with SQLite). ``run`` loads the inventory and
runs one manager cycle: collect results, hold, choose sources, submit batches. Sites come from
``--config`` (``[storage.SITE]`` tables; see ``dynamo.fileops.endpoints``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import DbOption, fail, print_json
from dynamo.cli.progress import load_inventory
from dynamo.errors import DynamoError
from dynamo.fileops.backends import opened_backends
from dynamo.fileops.config import load_fileops_config
from dynamo.fileops.manager import CycleSummary, run_cycle
from dynamo.fileops.worker import SqliteWorkerLock, Worker, WorkerOptions
from dynamo.store import SqlInventoryStore
from dynamo.store.engine import make_engine

__all__ = ["fileops_app"]

fileops_app = typer.Typer(help="File operations: the transfer worker and the manager cycle.")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML with \\[storage.SITE] endpoints and \\[fileops] options."),
]


@fileops_app.command("worker")
def worker(
    db: DbOption,
    config: ConfigOption = None,
    worker_id: Annotated[
        str | None, typer.Option("--id", help="This worker's name (default: host:pid).")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Stop when no batch is waiting.")] = False,
    parallel: Annotated[int | None, typer.Option(min=1, help="Tasks run at the same time.")] = None,
    stale_after: Annotated[
        int | None,
        typer.Option(min=0, help="Take over batches whose heartbeat is this many seconds old."),
    ] = None,
    poll_interval: Annotated[
        float | None, typer.Option(min=0.0, help="Seconds between looks at an empty queue.")
    ] = None,
) -> None:
    """Claim batches and execute their transfers and deletions until stopped."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("signal %d: finishing running tasks", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    lock: SqliteWorkerLock | None = None
    try:
        settings = load_fileops_config(config)
        engine = make_engine(db)
        if engine.dialect.name == "sqlite":
            lock = SqliteWorkerLock(str(engine.url.database))
            lock.acquire()
        options = WorkerOptions(
            worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}",
            parallel=parallel or settings.worker.parallel,
            stale_after=settings.worker.stale_after if stale_after is None else stale_after,
            heartbeat_interval=settings.worker.heartbeat_interval,
            poll_interval=(
                settings.worker.poll_interval if poll_interval is None else poll_interval
            ),
        )
        runner = Worker(engine, settings.endpoints, options, stop=stop)
        handled = runner.run(once=once)
    except DynamoError as exc:
        fail(exc)
    finally:
        if lock is not None:
            lock.release()
    typer.echo(
        f"{options.worker_id}: {handled} batches, {runner.tasks_done} tasks done, "
        f"{runner.tasks_failed} failed",
        err=True,
    )


@fileops_app.command("run")
def run(
    db: DbOption,
    config: ConfigOption = None,
    now: Annotated[
        int | None, typer.Option(help="Run as of this time (epoch s); default: now.")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run one file-operations manager cycle (standalone backend; FTS3 too with [fts3])."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    moment = int(time.time()) if now is None else now
    try:
        settings = load_fileops_config(config)
        store = SqlInventoryStore.open(db)
        try:
            inventory = load_inventory(store, console)
            with opened_backends(store.engine, settings.fts3) as backends:
                summary = run_cycle(
                    store.engine, inventory, settings.endpoints, backends, moment, settings.manager
                )
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json(summary.as_dict())
    else:
        Console().print(_table(summary))


def _table(summary: CycleSummary) -> Table:
    table = Table(title="file operations cycle")
    table.add_column("step")
    table.add_column("count", justify="right")
    for key, value in summary.as_dict().items():
        if isinstance(value, dict):
            for reason, count in value.items():
                table.add_row(f"{key} ({reason})", f"{count:,}")
        elif isinstance(value, list):
            if value:
                table.add_row(key, ", ".join(value))
        elif value:
            table.add_row(key, f"{value:,}")
    if not table.row_count:
        table.add_row("nothing to do", "0")
    return table
