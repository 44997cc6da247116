"""What the client commands of the registry share: server option, calls, tables, times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import fail
from dynamo.client import client_from_env
from dynamo.errors import DynamoError

__all__ = ["ServerOption", "call", "show_table", "when"]

ServerOption = Annotated[
    str | None,
    typer.Option("--server", envvar="DYNAMO_SERVER", help="Server URL, e.g. https://host:8443."),
]


def call(
    server: str | None,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
) -> Any:
    """The server's JSON answer; on an error, `error[code]: message` and exit status 2."""
    try:
        with client_from_env(server) as client:
            wanted = {k: v for k, v in (params or {}).items() if v not in (None, [], ())}
            return client.request(method, path, params=wanted or None, json=body)
    except DynamoError as exc:
        fail(exc)


def when(epoch: int | None) -> str:
    """``epoch`` as a UTC time (minutes), or '-' for None."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def show_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print ``rows`` as a table (wide enough that names are never cut)."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    Console(width=max(160, Console().width)).print(table)
