"""Entry point of the `dynamo` command: one typer app with a sub-app per area."""

from __future__ import annotations

import typer

from dynamo import __version__, redaction
from dynamo.cli.admin import admin_app
from dynamo.cli.app import app_app
from dynamo.cli.bench import bench_app
from dynamo.cli.consistency import consistency_app
from dynamo.cli.db import db_app
from dynamo.cli.dealer import dealer_app
from dynamo.cli.demo import demo
from dynamo.cli.detox import detox_app
from dynamo.cli.fileops import fileops_app
from dynamo.cli.lock import lock_app
from dynamo.cli.ls import inject, invalidate, ls_app
from dynamo.cli.policy import policy_app
from dynamo.cli.popularity import popularity_app
from dynamo.cli.request import request_app
from dynamo.cli.server import serve
from dynamo.cli.site import site_app
from dynamo.cli.sync import import_app, sync_app
from dynamo.cli.transfers import transfers_app
from dynamo.cli.userdata import userdata_app

app = typer.Typer(
    name="dynamo",
    help="Dynamo: dynamic data management for scientific data spread over many storage sites.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dynamo {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Dynamo: dynamic data management."""
    redaction.install()


app.command("demo")(demo)
app.command("server")(serve)
app.command("inject")(inject)
app.command("invalidate")(invalidate)
app.add_typer(ls_app, name="ls")
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(policy_app, name="policy")
app.add_typer(admin_app, name="admin")
app.add_typer(site_app, name="site")
app.add_typer(app_app, name="app")
app.add_typer(request_app, name="request")
app.add_typer(lock_app, name="lock")
app.add_typer(popularity_app, name="popularity")
app.add_typer(detox_app, name="detox")
app.add_typer(dealer_app, name="dealer")
app.add_typer(transfers_app, name="transfers")
app.add_typer(consistency_app, name="consistency")
app.add_typer(fileops_app, name="fileops")
app.add_typer(userdata_app, name="userdata")
app.add_typer(sync_app, name="sync")
app.add_typer(import_app, name="import")


if __name__ == "__main__":
    app()
