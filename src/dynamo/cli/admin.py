"""`dynamo admin`: administer a server's database directly (run on the server host).

``dynamo admin user add NAME --dn DN | grant NAME ROLE TARGET | revoke NAME ROLE TARGET |
remove NAME | list [--json]``. The running server sees changes within its directory's cache time
(:data:`dynamo.api.auth.DEFAULT_TTL` seconds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from dynamo.api.auth import SqlUserDirectory, User
from dynamo.api.security import Role, Target
from dynamo.cli.output import DEFAULT_DB, DbOption, JsonOption, fail, print_json
from dynamo.errors import DynamoError
from dynamo.store import check_schema, make_engine

__all__ = ["admin_app", "user_app"]

admin_app = typer.Typer(help="Administer the server's database.", no_args_is_help=True)
user_app = typer.Typer(
    help="Users (certificate DNs) and their roles on targets.", no_args_is_help=True
)
admin_app.add_typer(user_app, name="user")

T = TypeVar("T")

NameArg = Annotated[str, typer.Argument(help="The user's name.")]
RoleArg = Annotated[Role, typer.Argument(help="The role.")]
TargetArg = Annotated[Target, typer.Argument(help="The target the role applies to.")]


@contextmanager
def _directory(db: str) -> Iterator[SqlUserDirectory]:
    engine = make_engine(db)
    try:
        check_schema(engine)
        yield SqlUserDirectory(engine)
    finally:
        engine.dispose()


def _with_directory(db: str, action: Callable[[SqlUserDirectory], T]) -> T:
    try:
        with _directory(db) as directory:
            return action(directory)
    except DynamoError as exc:
        fail(exc)


@user_app.command("add")
def add(
    name: NameArg,
    dn: Annotated[
        str, typer.Option("--dn", help="Certificate DN, /DC=.../CN=... or CN=...,DC=...")
    ],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Add a user (no roles yet) identified by the DN of their certificate."""
    user = _with_directory(db, lambda directory: directory.add_user(name, dn))
    Console(soft_wrap=True).print(f"added user [bold]{user.name}[/bold] with DN {user.dn}")


@user_app.command("grant")
def grant(name: NameArg, role: RoleArg, target: TargetArg, db: DbOption = DEFAULT_DB) -> None:
    """Grant ROLE on TARGET to a user (admin on a target implies every role on it)."""
    changed = _with_directory(db, lambda directory: directory.grant(name, role, target))
    state = "granted" if changed else "already had"
    Console().print(f"{name} {state} role {role.value} on {target.value}")


@user_app.command("revoke")
def revoke(name: NameArg, role: RoleArg, target: TargetArg, db: DbOption = DEFAULT_DB) -> None:
    """Revoke ROLE on TARGET from a user."""
    changed = _with_directory(db, lambda directory: directory.revoke(name, role, target))
    state = "no longer has" if changed else "did not have"
    Console().print(f"{name} {state} role {role.value} on {target.value}")


@user_app.command("remove")
def remove(name: NameArg, db: DbOption = DEFAULT_DB) -> None:
    """Remove a user and all their grants: their certificate (and its proxies) then holds no
    role (403 on every protected route). To refuse the certificate itself, revoke it in the
    CA's CRL (see docs/security.md)."""
    user = _with_directory(db, lambda directory: directory.remove_user(name))
    Console(soft_wrap=True).print(f"removed user [bold]{user.name}[/bold] with DN {user.dn}")


@user_app.command("list")
def list_users(
    db: DbOption = DEFAULT_DB,
    json: JsonOption = False,
) -> None:
    """List the users, their DNs and their roles."""
    users = _with_directory(db, lambda directory: directory.list_users())
    if json:
        print_json([_as_json(user) for user in users])
        return
    table = Table("name", "roles", "created")
    table.add_column("DN", overflow="fold")
    for user in users:
        table.add_row(user.name, ", ".join(_grant_texts(user)), _date(user.created), user.dn)
    Console().print(table)


def _grant_texts(user: User) -> list[str]:
    grants = sorted(user.grants, key=lambda grant: (grant[1].value, grant[0].value))
    return [f"{role.value} on {target.value}" for role, target in grants]


def _date(created: int) -> str:
    return dt.datetime.fromtimestamp(created, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _as_json(user: User) -> dict[str, Any]:
    grants = sorted(user.grants, key=lambda grant: (grant[1].value, grant[0].value))
    return {
        "name": user.name,
        "dn": user.dn,
        "created": user.created,
        "grants": [{"role": role.value, "target": target.value} for role, target in grants],
    }
