"""`dynamo app list|run|kill|log|authorize`: applications and their runs on a Dynamo server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import JsonOption, fail, print_json
from dynamo.client import DynamoClient, client_from_env
from dynamo.errors import ConfigurationError, DynamoError

__all__ = ["app_app"]

app_app = typer.Typer(help="Applications and their runs on a Dynamo server.", no_args_is_help=True)

Server = Annotated[
    str | None,
    typer.Option("--server", envvar="DYNAMO_SERVER", help="Server URL, e.g. https://host:8443."),
]
FINAL = {"done", "failed", "killed", "timeout", "authfailed"}
POLL_SECONDS = 1.0


def _with_client(server: str | None, action: Callable[[DynamoClient], Any]) -> Any:
    try:
        with client_from_env(server) as client:
            return action(client)
    except DynamoError as exc:
        fail(exc)


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)


def _when(epoch: int | None) -> str:
    return "" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def _run_rows(runs: list[dict[str, Any]]) -> list[list[object]]:
    return [
        [
            r["id"],
            r["app"],
            r["mode"],
            r["status"],
            r["source"],
            _when(r["submitted"]),
            r["exit_code"],
            r["log_seq"],
            r["error"] or "",
        ]
        for r in runs
    ]


RUN_COLUMNS = [
    "id",
    "app",
    "mode",
    "status",
    "source",
    "submitted (UTC)",
    "exit",
    "log seq",
    "error",
]


@app_app.command("list")
def list_apps(
    runs: Annotated[
        bool, typer.Option("--runs", help="List runs instead of applications.")
    ] = False,
    schedules: Annotated[
        bool, typer.Option("--schedules", help="List schedules and their problems.")
    ] = False,
    app: Annotated[str | None, typer.Option("--app", help="Runs of this application.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="Runs in this status.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many runs.")] = 50,
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """The registered applications (or, with --runs, the latest runs; --schedules, schedules)."""
    if runs or app or status:
        found = _with_client(
            server,
            lambda c: c.get("/applications/runs", app=app, status=status, limit=limit),
        )
        if json:
            print_json(found)
        else:
            _table("Runs", RUN_COLUMNS, _run_rows(found))
        return
    if schedules:
        found = _with_client(server, lambda c: c.get("/applications/schedules"))
        if json:
            print_json(found)
        else:
            rows = [[s["name"], s["kind"], s["app"], s["state"]] for s in found]
            _table("Schedules", ["name", "kind", "app", "state"], rows)
        return
    found = _with_client(server, lambda c: c.get("/applications"))
    if json:
        print_json(found)
    else:
        rows = [[a["name"], "write" if a["writes"] else "read", a["description"]] for a in found]
        _table("Applications", ["name", "mode", "description"], rows)


def _parse_args(pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs; a value that parses as JSON (number, true, list...) is taken as such."""
    args: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            fail(ConfigurationError(f"--arg expects KEY=VALUE, not {pair!r}"))
        try:
            args[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            args[key] = value
    return args


@app_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="The application.")],
    arg: Annotated[
        list[str] | None, typer.Option("--arg", help="An argument KEY=VALUE (repeatable).")
    ] = None,
    timeout: Annotated[
        int | None, typer.Option("--timeout", help="Time limit in seconds (0: none).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run a write application read-only.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the run ends.")] = False,
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Submit a run; with --wait, exit 0 only if it ends done."""
    body: dict[str, Any] = {"args": _parse_args(arg or []), "timeout": timeout}
    if dry_run:
        body["mode"] = "read"

    def action(client: DynamoClient) -> Any:
        submitted = client.post(f"/applications/{name}/runs", body)
        if not wait:
            return submitted
        while submitted["status"] not in FINAL:
            time.sleep(POLL_SECONDS)
            submitted = client.get(f"/applications/runs/{submitted['id']}")
        return submitted

    result = _with_client(server, action)
    if json:
        print_json(result)
    else:
        typer.echo(f"run {result['id']} of {result['app']}: {result['status']}")
        if result["status"] in FINAL and result["summary"]:
            typer.echo(orjson.dumps(result["summary"], option=orjson.OPT_INDENT_2).decode())
        if result["error"]:
            typer.echo(f"error: {result['error']}", err=True)
    if wait and result["status"] != "done":
        raise typer.Exit(1)


@app_app.command("kill")
def kill(
    run_id: Annotated[int, typer.Argument(help="The run.")],
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Kill a queued or running run; it commits nothing."""
    result = _with_client(server, lambda c: c.delete(f"/applications/runs/{run_id}"))
    if json:
        print_json(result)
    else:
        typer.echo(f"run {result['id']} of {result['app']}: {result['status']}")


@app_app.command("log")
def log(
    run_id: Annotated[int, typer.Argument(help="The run.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")
    ] = False,
    server: Server = None,
) -> None:
    """Print the log of a run (stdout, stderr and the application's logger)."""

    def action(client: DynamoClient) -> None:
        offset = 0
        while True:
            chunk = client.get(f"/applications/runs/{run_id}/log", offset=offset, format="json")
            typer.echo(chunk["text"], nl=False)
            offset = chunk["offset"]
            if not follow or (chunk["status"] in FINAL and not chunk["text"]):
                return
            if not chunk["text"]:
                time.sleep(POLL_SECONDS)

    _with_client(server, action)


@app_app.command("authorize")
def authorize(
    name: Annotated[str, typer.Argument(help="The write application.")],
    dn: Annotated[
        str | None,
        typer.Option("--dn", help="The user's DN (default: anyone with operator or admin)."),
    ] = None,
    revoke: Annotated[bool, typer.Option("--revoke", help="Withdraw it instead.")] = False,
    server: Server = None,
) -> None:
    """Authorise a DN to run NAME in write mode (needs admin on target application)."""
    path = f"/applications/{name}/authorizations"
    if revoke:
        _with_client(server, lambda c: c.delete(path, **({"dn": dn} if dn else {})))
        typer.echo(f"revoked: {name} for {dn or 'anyone'}")
    else:
        _with_client(server, lambda c: c.post(path, {"dn": dn}))
        typer.echo(f"authorised: {name} for {dn or 'anyone with operator or admin'}")
