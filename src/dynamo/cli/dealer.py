"""`dynamo dealer run`: one Dealer cycle on a database, without a server; `dynamo dealer
cycles`: the recent cycles.

``run`` loads the inventory, reads the open copy requests, the job-queue feed of the
configuration, the sites' transfer record and the latest Detox cycle, plans, records the
cycle and, unless ``--dry-run``, commits it in one transaction: the new incomplete replicas,
the cycle marked committed, every missing file subscribed for transfer; then the copy
requests are moved on. Run it against a database no server is writing to.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dynamo.bench.dealer import bench_dealer
from dynamo.cli.output import DbOption, JsonOption, fail, print_json
from dynamo.cli.progress import load_inventory
from dynamo.dealer import (
    CycleResult,
    DealerConfig,
    abandon_planned,
    apply_request_updates,
    commit_records,
    load_dealer_config,
    run_cycle,
)
from dynamo.dealer.queries import list_cycles
from dynamo.errors import DynamoError
from dynamo.policy import partition_compiler
from dynamo.store import SqlInventoryStore
from dynamo.store.registry import SqlRegistryStore

__all__ = ["bench", "dealer_app"]

dealer_app = typer.Typer(help="Dealer: place copies by requests, rules, popularity and balance.")


@dealer_app.command("run")
def run(
    db: DbOption,
    config: Annotated[
        Path | None, typer.Option(help="Dealer configuration (JSON, CMS shape).", exists=True)
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Record a test cycle and change nothing.")
    ] = False,
    now: Annotated[
        int | None, typer.Option(help="Plan as of this time (epoch s); default: now.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print the cycle as JSON.")] = False,
) -> None:
    """Plan and record one Dealer cycle; commit it unless --dry-run."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console(stderr=True)
    moment = int(time.time()) if now is None else now
    try:
        settings = DealerConfig() if config is None else load_dealer_config(config)
        store = SqlInventoryStore.open(db)
        try:
            abandon_planned(store.engine, now=moment)
            inventory = load_inventory(store, console, partition_compiler(now=moment))
            registry = SqlRegistryStore(store.engine)
            with console.status("planning"):
                result = run_cycle(
                    inventory,
                    settings,
                    now=moment,
                    engine=store.engine,
                    registry=registry,
                    dry_run=dry_run,
                    seed=seed,
                )
            if not dry_run:
                records = [result.commit_record()]
                store.write(
                    result.changeset,
                    inventory,
                    also=lambda conn, seq: commit_records(conn, records, seq, moment),
                )
                apply_request_updates(registry, result.request_updates)
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json(result.to_json() | {"dry_run": dry_run})
    else:
        _print(Console(), result, dry_run)


@dealer_app.command("cycles")
def cycles(
    db: DbOption,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """The recent Dealer cycles, newest first."""
    try:
        store = SqlInventoryStore.open(db)
        try:
            page = list_cycles(store.engine, limit=limit)
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json([cycle.to_json() for cycle in page.items])
        return
    table = Table(title="Dealer cycles")
    for column in ("id", "partition", "mode", "status", "copies", "TB", "rejected"):
        table.add_column(column)
    for cycle in page.items:
        summary = cycle.summary or {}
        table.add_row(
            str(cycle.id),
            cycle.partition,
            cycle.mode,
            cycle.status,
            str(summary.get("copies", "")),
            f"{summary.get('volume', 0) / 1e12:,.2f}",
            str(summary.get("rejected", "")),
        )
    Console().print(table)


def _print(console: Console, result: CycleResult, dry_run: bool) -> None:
    plan = result.plan
    title = f"Dealer {plan.partition}: cycle {result.cycle_id}" + (" (dry run)" if dry_run else "")
    table = Table(title=title)
    for column in ("site", "copies", "TB"):
        table.add_column(column, justify="left" if column == "site" else "right")
    for site, size in sorted(plan.site_bytes.items()):
        count = sum(1 for copy in plan.copies if copy.site == site)
        table.add_row(site, str(count), f"{size / 1e12:,.2f}")
    console.print(table)
    console.print(
        f"{len(plan.copies):,} copies ({plan.volume / 1e12:,.2f} TB) "
        f"{'would be' if dry_run else 'were'} placed; {len(plan.rejections):,} proposals rejected"
    )
    for reason, count in plan.rejection_counts().items():
        console.print(f"  {count:,} x {reason}")


def bench(
    db: Annotated[str, typer.Option("--db", help="A generated inventory database (copied first).")],
    requests: Annotated[int, typer.Option(min=0, help="Pending copy requests to make.")] = 500,
    popular: Annotated[int, typer.Option(min=0, help="Datasets the job queue asks for.")] = 2000,
    enforcer_rules: Annotated[
        Path | None, typer.Option(help="Enforcer rules JSON for the enforcer plug-in.", exists=True)
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """A full Dealer cycle (dry run, history kept) with every plug-in: seconds per part.
    Registered as `dynamo bench dealer`."""
    try:
        report = bench_dealer(db, requests=requests, popular=popular, enforcer_rules=enforcer_rules)
    except DynamoError as exc:
        fail(exc)
    if json_output:
        print_json(report)
        return
    table = Table(
        title=f"Dealer cycle ({report['objects']:,} objects, load {report['load_seconds']} s)"
    )
    table.add_column("part")
    table.add_column("seconds", justify="right")
    for part, seconds in report["parts"].items():
        table.add_row(part, f"{seconds:.2f}")
    table.add_row("cycle", f"{report['seconds']:.2f}")
    Console().print(table)
    Console().print(
        f"{report['copies']:,} copies {report['copies_by_plugin']}, "
        f"{report['volume_bytes'] / 1e12:,.1f} TB; rejected: {report['rejections']}"
    )
