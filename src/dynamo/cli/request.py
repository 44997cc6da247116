"""`dynamo request copy|delete|poll|cancel`: copy and deletion requests on a Dynamo server."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dynamo.cli.output import JsonOption, print_json
from dynamo.cli.remote import ServerOption, call, show_table, when

__all__ = ["request_app"]

request_app = typer.Typer(help="Copy and deletion requests.", no_args_is_help=True)

Items = Annotated[list[str], typer.Argument(help="Datasets, or DATASET#BLOCK.")]
Sites = Annotated[
    list[str], typer.Option("--site", "-s", help="Site name or glob (repeat for several).")
]
COLUMNS = ("id", "kind", "status", "user", "items", "sites", "group", "n", "asked", "last asked")


def _row(r: dict[str, Any]) -> tuple[object, ...]:
    return (
        r["id"],
        r["kind"],
        r["status"] + (f" ({r['reject_reason']})" if r["reject_reason"] else ""),
        r["user"],
        "\n".join(r["items"]),
        " ".join(r["sites"]),
        r["group"] or "-",
        r["n"],
        r["request_count"],
        when(r["last_request"]),
    )


def _show(requests: list[dict[str, Any]], json: bool, title: str = "requests") -> None:
    if json:
        print_json(requests if title == "requests" else requests[0])
        return
    show_table(title, COLUMNS, [_row(r) for r in requests])


def _made(request: dict[str, Any], json: bool) -> None:
    if json:
        print_json(request)
        return
    count = request["request_count"]
    done = "made" if count == 1 else f"already open, now asked {count} times"
    show_table(f"{request['kind']} request {request['id']} {done}", COLUMNS, [_row(request)])


@request_app.command("copy")
def copy(
    items: Items,
    site: Sites,
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="Owner group of the copies.")
    ] = None,
    n: Annotated[
        int, typer.Option("--n", "-n", help="Copies of each item (0: one at every site).")
    ] = 1,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """Ask for N copies of ITEMS among the sites (an identical open request is bumped)."""
    body = {"items": items, "sites": site, "group": group, "n": n}
    _made(call(server, "POST", "/requests/copy", body=body), json)


@request_app.command("delete")
def delete(
    items: Items, site: Sites, server: ServerOption = None, json: JsonOption = False
) -> None:
    """Ask for the deletion of ITEMS at the sites."""
    body = {"items": items, "sites": site}
    _made(call(server, "POST", "/requests/deletion", body=body), json)


@request_app.command("poll")
def poll(
    request_id: Annotated[
        list[int] | None, typer.Option("--id", help="Request id (repeatable).")
    ] = None,
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="new, activated, completed, rejected, cancelled."),
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="copy or deletion.")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Requests of this user.")] = None,
    item: Annotated[str | None, typer.Option("--item", help="Requests naming this item.")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Requests naming this site.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
    server: ServerOption = None,
    json: JsonOption = False,
) -> None:
    """List requests, newest first."""
    params = {
        "id": request_id,
        "status": status,
        "kind": kind,
        "user": user,
        "item": item,
        "site": site,
        "limit": limit,
    }
    _show(call(server, "GET", "/requests", params=params), json)


@request_app.command("cancel")
def cancel(request_id: int, server: ServerOption = None, json: JsonOption = False) -> None:
    """Cancel a request that is still new (your own, or any as an operator)."""
    cancelled = call(server, "POST", f"/requests/{request_id}/cancel")
    _show([cancelled], json, title=f"request {request_id} cancelled")
