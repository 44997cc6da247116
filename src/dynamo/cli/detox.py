"""`dynamo detox run`: one Detox cycle on a database, without a server.

Loads the inventory (with a progress bar), plans the cycle with the policy file and the default
producers (or those of ``--config``), records it in the history and, unless ``--dry-run``,
commits it: the deleted block replicas go to the null group and are queued for deletion, in one
transaction. The server's ``detox`` application does the same on its schedule; run this one
against a database no server is writing to, or the server's image goes stale.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import DbOption, fail, print_json
from dynamo.cli.progress import load_inventory
from dynamo.detox import (
    CycleResult,
    DetoxOptions,
    PolicySource,
    commit_records,
    run_cycle,
)
from dynamo.detox.history import abandon_planned
from dynamo.errors import DynamoError
from dynamo.model import Inventory
from dynamo.policy import partition_compiler
from dynamo.server.config import load_config
from dynamo.store import SqlInventoryStore

__all__ = ["detox_app"]

detox_app = typer.Typer(help="Detox: delete replicas by policy between site watermarks.")


@detox_app.command("run")
def run(
    db: DbOption,
    partition: Annotated[str, typer.Option(help="The partition to clean, e.g. Physics.")],
    policy: Annotated[Path, typer.Option(help="The Detox policy file.", exists=True)],
    partitions: Annotated[
        Path | None, typer.Option(help="A partitions file to apply first.", exists=True)
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Record a test cycle and change nothing.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option(help="Server TOML whose [detox] producers and options apply.")
    ] = None,
    now: Annotated[
        int | None, typer.Option(help="Evaluate as of this time (epoch s); default: now.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for ties the policy's Order leaves.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the cycle as JSON.")] = False,
) -> None:
    """Plan and record one Detox cycle of PARTITION; commit it unless --dry-run."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    moment = int(time.time()) if now is None else now
    try:
        settings = load_config(config).detox
        options = DetoxOptions(
            deletion_per_iteration=settings.options.deletion_per_iteration,
            protect_last_copy=settings.options.protect_last_copy,
            seed=seed,
        )
        store = SqlInventoryStore.open(db)
        try:
            abandon_planned(store.engine, now=moment)
            inventory = load_inventory(store, console, partition_compiler(now=moment))
            with console.status(f"planning {partition}"):
                result = run_cycle(
                    inventory,
                    PolicySource(partition, policy, partitions),
                    now=moment,
                    engine=store.engine,
                    producers=settings.producers,
                    base_dir=settings.base_dir if config else Path.cwd(),
                    options=options,
                    dry_run=dry_run,
                    retention=settings.retention,
                )
            if not dry_run:
                _commit(store, inventory, result, moment)
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    data = result.to_json() | {"dry_run": dry_run}
    if json_output:
        print_json(data)
    else:
        _print(Console(), result, dry_run)


def _commit(store: SqlInventoryStore, inventory: Inventory, result: CycleResult, now: int) -> None:
    assert result.cycle_id is not None
    records = [result.commit_record()]
    # the planner restored the image: the ChangeSet validates against the loaded state
    store.write(
        result.changeset,
        inventory,
        also=lambda conn, seq: commit_records(conn, records, seq, now),
    )


def _print(console: Console, result: CycleResult, dry_run: bool) -> None:
    plan = result.plan
    table = Table(
        title=f"Detox {plan.partition}: cycle {result.cycle_id}" + (" (dry run)" if dry_run else "")
    )
    for column in ("site", "quota TB", "before", "after", "triggered", "deleted TB", "stop reason"):
        table.add_column(column, justify="left" if column in ("site", "stop reason") else "right")
    for site in plan.sites:
        if not site.triggered and not site.deleted_bytes:
            continue
        table.add_row(
            site.name,
            f"{site.quota_bytes / 1e12:,.1f}",
            f"{site.occupancy_before:.1%}",
            f"{site.occupancy_after:.1%}",
            "yes" if site.triggered else "",
            f"{site.deleted_bytes / 1e12:,.1f}",
            site.stop_reason or "",
        )
    console.print(table)
    counts = plan.counts()
    console.print(
        f"decisions: delete {counts['delete']:,}, keep {counts['keep']:,}, "
        f"protect {counts['protect']:,}; "
        f"{len(plan.deletions):,} block replicas ({plan.deleted_bytes / 1e12:,.1f} TB) "
        f"{'would be' if dry_run else 'handed to the null group and'} queued for deletion; "
        f"the safety rule kept {plan.safety_bites:,} last copies"
    )
    if result.policy_error:
        console.print(
            f"[red]policy file unusable, the last good policy was used:[/red] {result.policy_error}"
        )
