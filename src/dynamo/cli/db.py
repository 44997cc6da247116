"""`dynamo db`: create, migrate and inspect the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dynamo.cli.output import DEFAULT_DB, DbOption, JsonOption, fail, print_json
from dynamo.errors import DynamoError
from dynamo.store.checkpoint import write_checkpoint
from dynamo.store.engine import make_engine
from dynamo.store.migration import current_revision, head_revision, migrate

db_app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(
    db: DbOption = DEFAULT_DB, revision: str = typer.Option("head", help="Target revision.")
) -> None:
    """Create the schema, or migrate it to REVISION (default: the newest)."""
    try:
        migrate(db, revision)
        current = current_revision(make_engine(db))
    except DynamoError as exc:
        fail(exc)
    Console().print(f"database {db} is at revision [bold]{current}[/bold]")


@db_app.command("status")
def status(db: DbOption = DEFAULT_DB, json: JsonOption = False) -> None:
    """Show the schema revision of the database and the one this code expects."""
    try:
        current = current_revision(make_engine(db))
    except DynamoError as exc:
        fail(exc)
    head = head_revision()
    info = {"db": db, "revision": current, "expected": head, "up_to_date": current == head}
    if json:
        print_json(info)
        return
    state = "up to date" if current == head else "needs `dynamo db upgrade`"
    Console().print(f"{db}: revision {current or '(none)'}, code expects {head}: {state}")
    if current != head:
        raise typer.Exit(1)


@db_app.command("checkpoint")
def checkpoint(
    directory: Annotated[Path, typer.Argument(help="The servers' checkpoint directory.")],
    db: DbOption = DEFAULT_DB,
    keep: Annotated[int, typer.Option("--keep", min=1, help="How many to keep.")] = 2,
    json: JsonOption = False,
) -> None:
    """Write a checkpoint of the inventory into DIRECTORY: servers started with
    --checkpoint-dir load it, then apply the log after it, instead of reading every table."""
    engine = make_engine(db)
    try:
        info = write_checkpoint(engine, directory, keep=keep)
    except DynamoError as exc:
        fail(exc)
    finally:
        engine.dispose()
    report = {
        "path": str(info.path),
        "seq": info.seq,
        "rows": info.rows,
        "bytes": info.path.stat().st_size,
        "seconds": round(info.seconds, 2),
    }
    if json:
        print_json(report)
        return
    Console().print(
        f"wrote {info.path} (seq {info.seq}, {sum(info.rows.values()):,} rows, "
        f"{report['bytes']:,} bytes) in {info.seconds:.1f} s"
    )
