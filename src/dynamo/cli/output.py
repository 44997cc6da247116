"""Shared pieces of the CLI: common options, JSON output and error reporting."""

from __future__ import annotations

import sys
from typing import Annotated, Any, NoReturn

import orjson
import typer

from dynamo.errors import DynamoError
from dynamo.redaction import redact

__all__ = ["DEFAULT_DB", "DbOption", "fail", "print_json"]

DEFAULT_DB = "var/dynamo.sqlite"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="DYNAMO_DB",
        help="Database URL: a file path or sqlite:///PATH, postgresql://..., mysql://...",
    ),
]


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON on stdout."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def fail(error: DynamoError, *, exit_code: int = 2) -> NoReturn:
    """Report a Dynamo error on stderr as `error[code]: message` and exit non-zero."""
    typer.echo(redact(f"error[{error.code}]: {error}"), err=True)
    raise typer.Exit(exit_code)
