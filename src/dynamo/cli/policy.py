"""`dynamo policy`: check, lint and explain policy files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from dynamo.cli.output import DEFAULT_DB, DbOption, JsonOption, fail, print_json
from dynamo.errors import DynamoError
from dynamo.model import Inventory
from dynamo.policy import (
    Diagnostic,
    EvaluationContext,
    FileKind,
    PolicySyntaxError,
    check_text,
    compile_policy,
    parse_policy,
    partition_compiler,
)
from dynamo.policy.explain import explain as explain_replica
from dynamo.policy.lint import lint_policy

__all__ = ["load_inventory", "policy_app"]

policy_app = typer.Typer(help="Check, lint and explain policy files.", no_args_is_help=True)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"{path}: cannot read: {exc.strerror}", err=True)
        raise typer.Exit(2) from exc


@policy_app.command("check")
def check(
    files: Annotated[list[Path], typer.Argument(help="Policy, partitions or JSON rule files.")],
    kind: Annotated[FileKind | None, typer.Option("--kind", help="Force the kind.")] = None,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print deprecations."),
) -> None:
    """Parse every FILE; print `FILE:LINE:COL: message` for errors; exit 1 if any."""
    failed = 0
    for path in files:
        try:
            warnings = check_text(_read(path), file=str(path), kind=kind)
        except PolicySyntaxError as exc:
            typer.echo(str(exc), err=True)
            failed += 1
            continue
        if not quiet:
            for warning in warnings:
                typer.echo(str(warning), err=True)
    if failed:
        typer.echo(f"{failed} of {len(files)} files have errors", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(files)} files OK")


@policy_app.command("lint")
def lint(path: Annotated[Path, typer.Argument(help="A Detox policy file.")]) -> None:
    """Report duplicate, shadowed and unreachable lines and deprecations; exit 1 if any."""
    diagnostics: list[Diagnostic] = []
    try:
        policy = parse_policy(_read(path), file=str(path), diagnostics=diagnostics)
    except PolicySyntaxError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    findings = [*diagnostics, *lint_policy(policy)]
    findings.sort(key=lambda d: (d.line, d.col))
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        raise typer.Exit(1)


def load_inventory(url: str, *, now: int) -> Inventory:
    """Load the whole inventory from the database at ``url``, partitions compiled here."""
    from dynamo.store import SqlInventoryStore  # the store pulls in SQLAlchemy: import late

    store = SqlInventoryStore.open(url)
    inventory, _seq = store.load(partition_compiler(now=now))
    return inventory


@policy_app.command("explain")
def explain(
    policy_file: Annotated[Path, typer.Option("--policy", help="The Detox policy file.")],
    site: Annotated[str, typer.Option("--site", help="Site name.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name.")],
    db: DbOption = DEFAULT_DB,
    now: int | None = typer.Option(None, "--now", help="Epoch seconds (default: the clock)."),
    json: JsonOption = False,
) -> None:
    """Show the decision for one dataset replica, its line and the variables it read.

    Producer attributes (locks, popularity) are not loaded: they read as their defaults.
    """
    moment = int(time.time()) if now is None else now
    try:
        policy = parse_policy(_read(policy_file), file=str(policy_file))
        inventory = load_inventory(db, now=moment)
        partition = None if policy.partition is None else inventory.partitions.get(policy.partition)
        ctx = EvaluationContext(now=moment, partition=partition)
        result = explain_replica(
            inventory, compile_policy(policy, now=moment), site=site, dataset=dataset, ctx=ctx
        )
    except PolicySyntaxError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except DynamoError as exc:
        fail(exc)
    if json:
        print_json(result.as_dict())
        return
    target = "" if result.is_target else " (the site is not a target of this policy)"
    typer.echo(f"{dataset} at {site}{target}")
    for decision in result.decisions:
        count = len(decision["blocks"])
        typer.echo(f"  {decision['action']} {count} block(s), line {decision['line']}:")
        typer.echo(f"    {decision['text']}")
        for name, value in decision["variables"].items():
            typer.echo(f"      {name} = {value}")
