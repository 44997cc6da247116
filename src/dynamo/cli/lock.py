"""`dynamo lock add|list|release`: replica locks (protection from deletion) on a Dynamo server."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dynamo.cli.output import JsonOption, print_json
from dynamo.cli.remote import ServerOption, call, show_table, when

__all__ = ["lock_app"]

lock_app = typer.Typer(help="Replica locks: keep data from being deleted.", no_args_is_help=True)

COLUMNS = ("id", "item", "sites", "groups", "user", "service", "expires", "state", "comment")


def _state(lock: dict[str, Any]) -> str:
    if lock["active"]:
        return "active"
    return "released" if lock["released"] is not None else "expired"


def _row(lock: dict[str, Any]) -> tuple[object, ...]:
    return (
        lock["id"],
        lock["item"],
        lock["sites"] or "*",
        lock["groups"] or "*",
        lock["user"],
        lock["service"],
        when(lock["expires"]),
        _state(lock),
        lock["comment"],
    )


@lock_app.command("add")
def add(
    item: Annotated[str, typer.Argument(help="DATASET, a dataset glob, or DATASET#BLOCK.")],
    expires: Annotated[
        str,
        typer.Option("--expires", "-e", help="A duration (7d, 12h) or a date (2030-01-31)."),
    ],
    site: Annotated[str | None, typer.Option("--site", "-s", help="Site glob.")] = None,
    group: Annotated[str | None, typer.Option("--group", "-g", help="Group glob.")] = None,
    comment: Annotated[str, typer.Option("--comment", "-c", help="Why.")] = "",
    service: Annotated[
        str | None, typer.Option("--service", help="Name of the service holding the lock.")
    ] = None,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """Lock ITEM until the expiry (renews your identical active lock)."""
    body: dict[str, Any] = {"item": item, "sites": site, "groups": group, "expires": expires}
    body.update({"comment": comment} if comment else {})
    body.update({"service": service} if service else {})
    lock = call(server, "POST", "/locks", body=body)
    if json:
        print_json(lock)
        return
    show_table(f"lock {lock['id']} until {when(lock['expires'])} UTC", COLUMNS, [_row(lock)])


@lock_app.command("list")
def list_locks(
    user: Annotated[str | None, typer.Option("--user", help="Locks of this user.")] = None,
    item: Annotated[
        str | None, typer.Option("--item", help="Locks applying to this dataset or block.")
    ] = None,
    site: Annotated[str | None, typer.Option("--site", help="Locks applying at this site.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also expired and released locks.")
    ] = False,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """List active locks (all with --all), newest first."""
    params = {"user": user, "item": item, "site": site, "active": None if show_all else "true"}
    locks = call(server, "GET", "/locks", params=params)
    if json:
        print_json(locks)
        return
    show_table("locks", COLUMNS, [_row(lock) for lock in locks])


@lock_app.command("release")
def release(lock_id: int, server: ServerOption = None, json: JsonOption = False) -> None:
    """Release a lock (your own, or any as an admin)."""
    lock = call(server, "DELETE", f"/locks/{lock_id}")
    if json:
        print_json(lock)
        return
    show_table(f"lock {lock_id} released", COLUMNS, [_row(lock)])
