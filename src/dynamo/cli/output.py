"""Shared pieces of the CLI: common options, JSON output and error reporting."""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from dynamo.errors import DynamoError
from dynamo.redaction import redact

__all__ = ["DEFAULT_DB", "DbOption", "JsonOption", "fail", "print_json", "show_json"]

DEFAULT_DB = "var/dynamo.sqlite"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="DYNAMO_DB",
        help="Database URL: a file path or sqlite:///PATH, postgresql://..., mysql://...",
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
"""``--json``: print the result as JSON rather than as text or a table."""


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def show_json(data: Any, as_json: bool) -> None:
    """``data`` as plain JSON (``--json``) or as rich's highlighted JSON on a terminal."""
    if as_json:
        print_json(data)
    else:
        Console().print_json(data=data)


def fail(error: DynamoError, *, exit_code: int = 2) -> NoReturn:
    """Report a Dynamo error on stderr as `error[code]: message` and exit non-zero."""
    typer.echo(redact(f"error[{error.code}]: {error}"), err=True)
    raise typer.Exit(exit_code)
