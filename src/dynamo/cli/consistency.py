"""`dynamo consistency check|runs|report`: site consistency checks and their reports.

``check SITE`` loads the inventory from ``--db``, lists the site's storage (the ``[storage.SITE]``
table of ``--config``), compares, repairs (unless ``--dry-run``) and records the run; with
``--invalidate-lost`` the files no copy is left of are invalidated in the inventory. ``runs``
and ``report`` read the recorded runs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import DbOption, JsonOption, fail, print_json
from dynamo.cli.progress import load_inventory
from dynamo.consistency import (
    CheckResult,
    ConsistencyConfig,
    ExpectedFile,
    check_site,
    list_runs,
    run_files,
)
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.fileops.endpoints import endpoints_from_table, load_toml
from dynamo.model import ChangeSet, Inventory
from dynamo.policy import partition_compiler
from dynamo.server.injection import FileRef, Invalidation, invalidation_ops
from dynamo.store import SqlInventoryStore

__all__ = ["consistency_app"]

consistency_app = typer.Typer(help="Site consistency: find and repair missing and orphan files.")

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", exists=True, help="TOML with [storage.SITE] and optional [consistency]."
    ),
]


@consistency_app.command("check")
def check(
    site: Annotated[str, typer.Argument(help="The site to check, e.g. T2_US_MIT.")],
    db: DbOption,
    config: ConfigOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Record what would be done; change nothing.")
    ] = False,
    invalidate_lost: Annotated[
        bool, typer.Option("--invalidate-lost", help="Invalidate files no copy is left of.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the checksum sample.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Compare SITE's storage with the inventory; repair unless --dry-run; record the run."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    try:
        document = load_toml(config)
        endpoints = endpoints_from_table(
            document.get("storage", {}), where=str(config), base=config.parent
        )
        if site not in endpoints:
            raise ConfigurationError(f"{config}: no [storage.{site}] table: where is {site}?")
        endpoint = endpoints[site]
        settings = ConsistencyConfig.from_table(document.get("consistency", {}))
        store = SqlInventoryStore.open(db)
        try:
            inventory = load_inventory(store, console, partition_compiler(now=int(time.time())))
            if site not in inventory.sites:
                raise ConfigurationError(f"site {site!r} is not in the inventory")
            with console.status(f"checking {site}"):
                result = check_site(
                    engine=store.engine,
                    inventory=inventory,
                    site=site,
                    storage=endpoint.storage,
                    config=settings,
                    path_of=None if endpoint.catalog is None else endpoint.site_path,
                    dry_run=dry_run,
                    invalidate_lost=invalidate_lost,
                    seed=seed,
                )
            if invalidate_lost and result.lost and not dry_run:
                _invalidate(store, inventory, result.lost)
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json(result.to_json())
    else:
        _print(Console(), result)


def _invalidate(store: SqlInventoryStore, inventory: Inventory, lost: list[ExpectedFile]) -> None:
    refs = tuple(FileRef(dataset=f.dataset, block=f.block, lfn=f.lfn) for f in lost)
    ops = invalidation_ops(Invalidation(files=refs), inventory, store.files_of, int(time.time()))
    store.commit(ChangeSet.of(ops), inventory)


def _print(console: Console, result: CheckResult) -> None:
    summary = result.summary
    title = f"{result.site}: consistency run {result.run_id}"
    if result.mode == "dry_run":
        title += " (dry run: nothing changed)"
    table = Table(title=title)
    table.add_column("listed", justify="right")
    table.add_column("expected", justify="right")
    for kind in ("missing", "orphan", "size_mismatch", "checksum_mismatch", "empty_dir"):
        table.add_column(kind.replace("_", " "), justify="right")
    table.add_row(
        f"{summary['listed_files']:,}",
        f"{summary['expected_files']:,}",
        *(
            f"{summary.get(kind, 0):,}"
            for kind in ("missing", "orphan", "size_mismatch", "checksum_mismatch", "empty_dir")
        ),
    )
    console.print(table)
    skipped = (
        f"not judged: {summary['skipped_young']:,} young, "
        f"{summary['skipped_in_flight']:,} with operations in flight, "
        f"{summary['skipped_ignored']:,} in ignored directories"
    )
    console.print(skipped)
    if result.reason:
        console.print(f"[bold red]held[/]: {result.reason}")
    actions = summary.get("actions", {})
    if actions:
        console.print("actions: " + ", ".join(f"{k} {v:,}" for k, v in actions.items()))


@consistency_app.command("runs")
def runs(
    db: DbOption,
    site: Annotated[str | None, typer.Option(help="Only this site's runs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    json_output: JsonOption = False,
) -> None:
    """The recorded consistency runs, newest first."""
    try:
        store = SqlInventoryStore.open(db)
        try:
            found = list_runs(store.engine, site=site, limit=limit)
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json([run.to_json() for run in found])
        return
    table = Table(title="consistency runs")
    for column in ("run", "site", "mode", "status", "started", "missing", "orphan", "reason"):
        table.add_column(column)
    for run in found:
        table.add_row(
            str(run.id),
            run.site,
            run.mode,
            run.status,
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(run.started)),
            str(run.summary.get("missing", 0)),
            str(run.summary.get("orphan", 0)),
            run.reason or "",
        )
    Console().print(table)


@consistency_app.command("report")
def report(
    run_id: Annotated[int, typer.Argument(help="The run to show.")],
    db: DbOption,
    kind: Annotated[str | None, typer.Option(help="Only findings of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1_000_000)] = 1000,
    json_output: JsonOption = False,
) -> None:
    """The files a run classified and what it did about each."""
    try:
        store = SqlInventoryStore.open(db)
        try:
            rows = run_files(store.engine, run_id, kind=kind, limit=limit)
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json([row.to_json() for row in rows])
        return
    table = Table(title=f"consistency run {run_id}")
    for column in ("kind", "action", "path", "size", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.kind,
            row.action,
            row.path,
            "" if row.size is None else str(row.size),
            row.detail or "",
        )
    Console().print(table)
