"""`dynamo popularity import`: load dataset access records (CSV or JSON) for Detox.

Into a database (``--db``): one transaction, so a bad line leaves the database as it was.
Through a server (``--server`` or ``$DYNAMO_SERVER``): the file is checked whole first (a bad
line sends nothing), then sent in batches of ``--batch`` records, each stored atomically;
the caller needs the operator role on ``popularity``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from dynamo.cli.output import JsonOption, fail, print_json
from dynamo.client import client_from_env
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.store.engine import make_engine
from dynamo.store.migration import check_schema
from dynamo.store.popularity import AccessRecord, SqlPopularityStore
from dynamo.store.popularity_io import AccessTally, detect_format, read_records

__all__ = ["popularity_app"]

popularity_app = typer.Typer(
    help="Popularity: dataset access records, read by Detox.", no_args_is_help=True
)

BATCH = 20_000


class _Bar:
    """One progress bar over the bytes of the file, with the records counted beside it."""

    def __init__(self, progress: Progress, description: str, total: int) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task(description, total=max(total, 1), records=0)

    def read(self, count: int) -> None:
        self.progress.advance(self.task, count)

    def counted(self, records: int) -> None:
        self.progress.update(self.task, records=records)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[records]:>12,} records"),
        TimeElapsedColumn(),
        console=console,
    )


@popularity_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV or JSON: dataset,site,date,num_accesses.")],
    db: Annotated[
        str | None, typer.Option("--db", help="Write into this database (URL or path).")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option("--server", help="Send to this server (default: $DYNAMO_SERVER)."),
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the suffix).")
    ] = None,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=100_000, help="Records per server call.")
    ] = BATCH,
    json: JsonOption = False,
) -> None:
    """Import access records from FILE; a record of a day already stored replaces it."""
    console = Console(stderr=True)
    try:
        if db is not None and server is not None:
            raise ConfigurationError("give --db or --server, not both")
        if not file.is_file():
            raise ConfigurationError(f"{file}: no such file")
        kind = detect_format(file, fmt)
        with _progress(console) as progress:
            if db is not None:
                summary = _into_database(db, file, kind, progress)
            else:
                summary = _through_server(server, file, kind, batch, progress)
    except DynamoError as exc:
        fail(exc)
    summary = {"file": str(file), "format": kind, **summary}
    if json:
        print_json(summary)
        return
    Console().print(_sentence(summary))


def _into_database(url: str, file: Path, kind: str, progress: Progress) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        check_schema(engine)
        bar = _Bar(progress, "importing", file.stat().st_size)
        tally = AccessTally()
        records = tally.counted(read_records(file, kind, on_bytes=bar.read))
        SqlPopularityStore(engine).record(records, on_progress=lambda _: bar.counted(tally.records))
    finally:
        engine.dispose()
    return {"target": "database", **tally.to_dict(), "unknown_datasets": None}


def _through_server(
    server: str | None, file: Path, kind: str, batch: int, progress: Progress
) -> dict[str, Any]:
    size = file.stat().st_size
    check = _Bar(progress, "checking", size)
    tally = AccessTally()
    for _ in tally.counted(read_records(file, kind, on_bytes=check.read)):
        if tally.records % batch == 0:
            check.counted(tally.records)
    check.counted(tally.records)
    send = _Bar(progress, "sending", size)
    sent = unknown = 0
    with client_from_env(server) as client:
        records = read_records(file, kind, on_bytes=send.read)
        for chunk in _batches(records, batch):
            answer = client.post("/popularity/accesses", {"records": chunk})
            sent += answer["records"]
            unknown += answer["unknown_datasets"]
            send.counted(sent)
    return {"target": "server", **tally.to_dict(), "unknown_datasets": unknown}


def _batches(records: Iterator[AccessRecord], size: int) -> Iterator[list[dict[str, Any]]]:
    while chunk := list(islice(records, size)):
        yield [
            {
                "dataset": r.dataset,
                "site": r.site,
                "date": r.day,
                "num_accesses": r.num_accesses,
                "cpu_hours": float(r.cpu_hours),
            }
            for r in chunk
        ]


def _day(epoch: object) -> str:
    return (
        "-" if not isinstance(epoch, int) else datetime.fromtimestamp(epoch, UTC).date().isoformat()
    )


def _sentence(summary: dict[str, Any]) -> str:
    where = summary["target"]
    text = (
        f"imported {summary['records']:,} access records into the {where} "
        f"({summary['datasets']:,} datasets, {summary['sites']:,} sites, "
        f"{_day(summary['first_day'])} to {_day(summary['last_day'])})"
    )
    if summary["unknown_datasets"]:
        text += f"; {summary['unknown_datasets']:,} datasets are not in the inventory"
    return text
