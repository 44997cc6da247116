"""`dynamo sync run SOURCE`: sync the inventory from an outside source, without a server.

SOURCE is an http(s) URL of a JSON-over-HTTP source, the path of a JSON file or of a
directory of CSV files, all in the schema of ``docs/sources.md``, or
``rucio+http(s)://HOST:PORT`` a Rucio server (credentials from ``DYNAMO_RUCIO_*``, see
:func:`dynamo.sources.open_source`). Without ``--since`` the
sync is full (deletes by absence, within the sections the source provides); with it,
incremental. The ChangeSet is committed whole, or not at all, with the users, the
job-queue demand and the popularity accesses the source gives in the same transaction;
conflicts are listed with their resolution.

`dynamo import rucio URL` is the same sync from a Rucio server, with its options spelled out.
"""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import DbOption, fail, print_json
from dynamo.errors import DynamoError
from dynamo.policy import partition_compiler
from dynamo.sources import (
    RucioSource,
    Source,
    SyncResult,
    account_quotas_of,
    open_source,
    run_sync,
)
from dynamo.store import SqlInventoryStore

__all__ = ["import_app", "sync_app"]

sync_app = typer.Typer(help="Sync the inventory from outside sources (catalog, replicas, sites).")
import_app = typer.Typer(help="Import the inventory from another data management system.")


@sync_app.command("run")
def run(
    source: Annotated[
        str, typer.Argument(help="An http(s) URL, a JSON file, a directory of CSV files.")
    ],
    db: DbOption,
    since: Annotated[
        int | None, typer.Option(help="Incremental: changes since this time (epoch s).")
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="The group of new replicas the source gives none.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and report; commit nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Sync the inventory in --db from SOURCE (full, or incremental with --since)."""
    try:
        adapter = open_source(source, os.environ)
    except DynamoError as exc:
        fail(exc)
    _sync(adapter, db, since=since, group=group, dry_run=dry_run, json_output=json_output)


@import_app.command("rucio")
def import_rucio(
    url: Annotated[str, typer.Argument(help="The Rucio server, e.g. https://rucio.example.org")],
    db: DbOption,
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope to read (repeat); default: every scope.")
    ] = None,
    account: Annotated[str, typer.Option(envvar="DYNAMO_RUCIO_ACCOUNT")] = "root",
    username: Annotated[str | None, typer.Option(envvar="DYNAMO_RUCIO_USERNAME")] = None,
    password: Annotated[str | None, typer.Option(envvar="DYNAMO_RUCIO_PASSWORD")] = None,
    token: Annotated[str | None, typer.Option(envvar="DYNAMO_RUCIO_TOKEN")] = None,
    group: Annotated[
        str, typer.Option(help="The group of the imported replicas (created if need be).")
    ] = "AnalysisOps",
    quota_partition: Annotated[
        str | None,
        typer.Option(
            envvar="DYNAMO_RUCIO_QUOTA_PARTITION",
            help="The partition whose quota at each site is the RSE's capacity.",
        ),
    ] = None,
    account_quota: Annotated[
        list[str] | None,
        typer.Option(
            help="PARTITION=ACCOUNT: the partition's quota at each site is the account's "
            "local limit at the RSE (repeat). Default: DYNAMO_RUCIO_ACCOUNT_QUOTAS.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan and report; commit nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import (or re-sync) RSEs, accounts, datasets, files and replicas of a Rucio server."""
    if account_quota is None:
        account_quota = os.environ.get("DYNAMO_RUCIO_ACCOUNT_QUOTAS", "").split(",")
    try:
        adapter = RucioSource(
            url,
            scopes=tuple(scope or ()),
            token=token,
            account=account,
            username=username,
            password=password,
            quota_partition=quota_partition,
            account_quotas=account_quotas_of(p for p in account_quota if p.strip()),
        )
    except DynamoError as exc:
        fail(exc)
    _sync(adapter, db, since=None, group=group, dry_run=dry_run, json_output=json_output)


def _sync(
    adapter: Source,
    db: str,
    *,
    since: int | None,
    group: str | None,
    dry_run: bool,
    json_output: bool,
) -> None:
    try:
        try:
            store = SqlInventoryStore.open(db)
            try:
                inventory, _seq = store.load(partition_compiler(now=int(time.time())))
                result = run_sync(
                    adapter,
                    store,
                    inventory,
                    engine=store.engine,
                    since=since,
                    dry_run=dry_run,
                    default_group=group,
                )
            finally:
                store.close()
        finally:
            adapter.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json(result.to_json() | {"dry_run": dry_run})
    else:
        _print(result, dry_run)


def _print(result: SyncResult, dry_run: bool) -> None:
    console = Console()
    plan = result.plan
    mode = "full" if plan.full else f"incremental since {result.since}"
    state = "dry run" if dry_run else f"committed as seq {result.seq}"
    console.print(f"sync from {result.source} ({mode}): {len(plan.changeset)} operations, {state}")
    for kind, count in plan.counts().items():
        console.print(f"  {kind}: {count}")
    if plan.conflicts:
        table = Table(title="conflicts")
        for column in ("kind", "subject", "resolution"):
            table.add_column(column)
        for conflict in plan.conflicts:
            table.add_row(conflict.kind, conflict.subject, conflict.resolution)
        console.print(table)
