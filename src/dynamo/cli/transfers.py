"""`dynamo transfers ls|rates|release|cancel|update`: the file-operation queue and the updater.

Every command but ``update`` works against a server (``--server`` or ``$DYNAMO_SERVER``;
release and cancel need the operator role on ``inventory``) or straight against a database
(``--db URL``). ``--deletions`` turns a command to file deletions. ``update`` runs the updater
once on a database (``--dry-run``: plan only); run it where no server writes, or the server's
image goes stale (the server runs the ``updater`` application on its own schedule).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine

from dynamo.cli.output import JsonOption, fail, print_json
from dynamo.cli.remote import ServerOption, call, show_table, when
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.fileops.ports import HoldReason, OpKind
from dynamo.fileops.queries import QueueState, cancel, history, link_rates, queued, release
from dynamo.fileops.updater import UpdateOptions, run_update
from dynamo.policy import partition_compiler
from dynamo.store import SqlInventoryStore
from dynamo.store.engine import make_engine
from dynamo.store.migration import check_schema

__all__ = ["transfers_app"]

transfers_app = typer.Typer(
    help="File transfers and deletions: the queue, history, rates, release, cancel.",
    no_args_is_help=True,
)

T = TypeVar("T")
DbUrl = Annotated[
    str | None,
    typer.Option("--db", help="Read and write this database (URL or path) instead of a server."),
]
Deletions = Annotated[bool, typer.Option("--deletions", help="File deletions, not transfers.")]
Site = Annotated[str | None, typer.Option("--site", "-s", help="Site name or glob.")]
Dataset = Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset name or glob.")]
QUEUE_COLUMNS = ("id", "file", "site", "status", "task", "source", "backend", "updated")
HISTORY_COLUMNS = ("id", "file", "site", "source", "status", "exit", "size", "finished")


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        check_schema(engine)
        yield engine
    finally:
        engine.dispose()


def _either(
    db: str | None, server: str | None, local: Callable[[Engine], T], remote: Callable[[], T]
) -> T:
    """``local`` on the database if ``--db`` is given, else ``remote`` through the server."""
    try:
        if db is not None and server is not None:
            raise ConfigurationError("give --db or --server, not both")
        if db is None:
            return remote()
        with _engine(db) as engine:
            return local(engine)
    except DynamoError as exc:
        fail(exc)


def _kind(deletions: bool) -> OpKind:
    return OpKind.DELETION if deletions else OpKind.TRANSFER


def _path(deletions: bool, tail: str = "") -> str:
    return ("/deletions" if deletions else "/transfers") + tail


@transfers_app.command("ls")
def ls(
    held: Annotated[bool, typer.Option("--held", help="Held subscriptions, with why.")] = False,
    past: Annotated[bool, typer.Option("--history", help="Finished tasks, newest first.")] = False,
    site: Site = None,
    dataset: Dataset = None,
    since: Annotated[int | None, typer.Option(help="History from (epoch s).")] = None,
    status: Annotated[str | None, typer.Option(help="History: done, failed or cancelled.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Rows.")] = 100,
    deletions: Deletions = False,
    db: DbUrl = None,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """List current transfers (new, in a batch, to retry), held ones, or the history."""
    if held and past:
        fail(ConfigurationError("give --held or --history, not both"))
    state = "history" if past else "held" if held else "current"
    kind = _kind(deletions)

    def local(engine: Engine) -> dict[str, Any]:
        if past:
            page: Any = history(
                engine,
                kind=kind,
                site=site,
                dataset=dataset,
                since=since,
                status=status,
                limit=limit,
            )
        else:
            page = queued(
                engine,
                kind=kind,
                state=QueueState(state),
                site=site,
                dataset=dataset,
                limit=limit,
            )
        return {"items": [e.to_json() for e in page.items], "next": page.next}

    def remote() -> dict[str, Any]:
        params = {
            "state": state,
            "site": site,
            "dataset": dataset,
            "since": since,
            "status": status,
            "limit": limit,
        }
        answer: dict[str, Any] = call(server, "GET", _path(deletions), params=params)
        return answer

    page = _either(db, server, local, remote)
    if json:
        print_json(page)
        return
    title = f"{'deletions' if deletions else 'transfers'}: {state} ({len(page['items'])})"
    if past:
        show_table(title, HISTORY_COLUMNS, [_history_row(e) for e in page["items"]])
    else:
        show_table(title, QUEUE_COLUMNS, [_queue_row(e) for e in page["items"]])


def _queue_row(e: dict[str, Any]) -> tuple[object, ...]:
    status = e["status"] + (f" ({e['hold_reason']})" if e["hold_reason"] else "")
    return (
        e["id"],
        e["lfn"],
        e["site"],
        status,
        e["task_status"] or "-",
        e["source_site"] or "-",
        e["backend"] or "-",
        when(e["updated"]),
    )


def _history_row(e: dict[str, Any]) -> tuple[object, ...]:
    return (
        e["id"],
        e["lfn"],
        e["site"],
        e["source_site"] or "-",
        e["status"],
        "-" if e["exit_code"] is None else e["exit_code"],
        f"{e['size']:,}",
        when(e["finished"]),
    )


@transfers_app.command("rates")
def rates(
    window: Annotated[int, typer.Option(min=1, help="Seconds summed, back from now.")] = 3600,
    site: Site = None,
    deletions: Deletions = False,
    db: DbUrl = None,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """Per link: files done and failed, bytes, bytes/s and files/h over the window."""
    kind = _kind(deletions)

    def local(engine: Engine) -> list[dict[str, Any]]:
        found = link_rates(engine, kind=kind, now=int(time.time()), window=window, site=site)
        return [r.to_json() for r in found]

    def remote() -> list[dict[str, Any]]:
        answer: list[dict[str, Any]] = call(
            server, "GET", _path(deletions, "/rates"), params={"window": window, "site": site}
        )
        return answer

    found = _either(db, server, local, remote)
    if json:
        print_json(found)
        return
    show_table(
        f"{'deletion' if deletions else 'transfer'} rates over {window} s",
        ("source", "site", "done", "failed", "bytes", "MB/s", "files/h"),
        [
            (
                r["source_site"] or "-",
                r["site"],
                r["files_done"],
                r["files_failed"],
                f"{r['bytes_done']:,}",
                f"{r['bytes_per_second'] / 1e6:.2f}",
                f"{r['files_per_hour']:.1f}",
            )
            for r in found
        ],
    )


Ids = Annotated[list[int] | None, typer.Argument(help="Subscription ids.")]


@transfers_app.command("release")
def release_held(
    ids: Ids = None,
    site: Site = None,
    reason: Annotated[
        HoldReason | None, typer.Option(help="Only subscriptions held for this reason.")
    ] = None,
    deletions: Deletions = False,
    db: DbUrl = None,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """Release held subscriptions (by ids, --site, --reason): back to source selection."""
    kind, chosen = _kind(deletions), list(ids or [])

    def local(engine: Engine) -> int:
        return release(
            engine, now=int(time.time()), ids=chosen, site=site, reason=reason, kind=kind
        )

    def remote() -> int:
        body = {"ids": chosen, "site": site, "reason": None if reason is None else reason.value}
        answer = call(server, "POST", _path(deletions, "/release"), body=body)
        return int(answer["count"])

    _changed(_either(db, server, local, remote), "released", json)


@transfers_app.command("cancel")
def cancel_pending(
    ids: Ids = None,
    dataset: Dataset = None,
    site: Site = None,
    deletions: Deletions = False,
    db: DbUrl = None,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """Cancel pending subscriptions (by ids, --dataset, --site); done ones stay done."""
    kind, chosen = _kind(deletions), list(ids or [])

    def local(engine: Engine) -> int:
        return cancel(
            engine, now=int(time.time()), ids=chosen, dataset=dataset, site=site, kind=kind
        )

    def remote() -> int:
        body = {"ids": chosen, "dataset": dataset, "site": site}
        answer = call(server, "POST", _path(deletions, "/cancel"), body=body)
        return int(answer["count"])

    _changed(_either(db, server, local, remote), "cancelled", json)


def _changed(count: int, what: str, json: bool) -> None:
    if json:
        print_json({what: count})
    else:
        Console().print(f"{count:,} subscriptions {what}")


@transfers_app.command("update")
def update(
    db: Annotated[str, typer.Option("--db", envvar="DYNAMO_DB", help="The database (URL).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan, change nothing.")] = False,
    default_group: Annotated[
        str | None, typer.Option(help="Owner of replicas created by transfers.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Run the updater once: fold finished transfers and deletions into the inventory."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        store = SqlInventoryStore.open(db)
        try:
            inventory, _seq = store.load(partition_compiler(now=int(time.time())))
            result = run_update(
                store,
                inventory,
                options=UpdateOptions(default_group=default_group),
                dry_run=dry_run,
            )
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    data = result.to_json()
    if json:
        print_json(data)
        return
    console = Console()
    for entry in data["reasons"]:
        console.print(f"{entry['replica']}: {entry['reason']}")
    counts = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in result.plan.summary().items())
    console.print(("dry run: " if dry_run else "") + counts)
