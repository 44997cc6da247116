"""`dynamo demo`: the main job out of the box.

What exists today: it builds a small CMS-like grid and inventory in SQLite (real site and dataset
names, the real CMS partitions), loads it the way the server will, classifies every replica
into partitions, and shows each site against its quota and the CMS watermarks, then what the
real CMS Physics policy decides at the fullest site. The running system (applications,
transfers, web pages) joins this command as it lands; the command name stays.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dynamo.bench.build import build_database
from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.scales import Scale
from dynamo.cli.output import fail, print_json
from dynamo.cli.progress import LoadProgress, TableProgress, row_progress
from dynamo.errors import DynamoError
from dynamo.model import Inventory, Site, StorageType
from dynamo.policy import (
    CompiledPolicy,
    EvaluationContext,
    compile_policy,
    parse_policy,
    partition_compiler,
)
from dynamo.store import SqlInventoryStore

__all__ = ["DEMO_SCALE", "demo"]

DEMO_SCALE = Scale(
    name="demo",
    datasets=600,
    blocks=6_000,
    files=60_000,
    t1_sites=2,
    t2_sites=8,
    with_t0=False,
    with_ral_echo=False,
)
PARTITION = "Physics"
HIGH_WATERMARK, LOW_WATERMARK = 0.90, 0.85
TB = 10**12


@dataclass(slots=True)
class SiteRow:
    name: str
    storage: str
    quota_bytes: int
    used_bytes: int
    occupancy: float
    is_target: bool
    is_triggered: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.name,
            "storage_type": self.storage,
            "quota_bytes": self.quota_bytes,
            "used_bytes": self.used_bytes,
            "occupancy": round(self.occupancy, 4),
            "detox_target": self.is_target,
            "detox_triggered": self.is_triggered,
        }


@dataclass(slots=True)
class Verdict:
    """What the policy decides for the dataset replicas of one site."""

    site: str
    replicas: int = 0
    bytes_by_action: Counter[str] = field(default_factory=Counter)
    decisions_by_line: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "dataset_replicas": self.replicas,
            "bytes_by_action": dict(self.bytes_by_action),
            "decisions_by_line": dict(self.decisions_by_line.most_common()),
        }


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo grid and its database live.")
    ] = Path("var/demo"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Rebuild the grid even if one exists.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the inventory.")] = 1,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Build (or reuse) a small CMS-like grid, load it, and show sites against their quotas."""
    console = Console(stderr=True)
    db = directory / "dynamo.sqlite"
    try:
        if fresh or not db.exists():
            directory.mkdir(parents=True, exist_ok=True)
            console.print(f"building a CMS-like inventory in [bold]{db}[/bold]")
            with row_progress(console) as progress:
                build_database(
                    str(db),
                    DEMO_SCALE,
                    seed=seed,
                    force=True,
                    observer=TableProgress(progress),
                )
        else:
            console.print(f"reusing [bold]{db}[/bold] (--fresh rebuilds it)")
        store = SqlInventoryStore.open(str(db))
        try:
            with row_progress(console) as progress:
                inventory, seq = store.load(
                    partition_compiler(now=REFERENCE_TIME), progress=LoadProgress(progress)
                )
        finally:
            store.close()
    except DynamoError as exc:
        fail(exc)
    policy = _physics_policy()
    rows = _site_rows(inventory, policy)
    verdict = _fullest_site_verdict(inventory, policy, rows)
    if json:
        print_json(
            {
                "db": str(db),
                "log_seq": seq,
                "counts": inventory.counts(),
                "partition": PARTITION,
                "sites": [row.to_dict() for row in rows],
                "fullest_site": verdict.to_dict() if verdict else None,
            }
        )
        return
    _show(Console(), inventory, rows, verdict)


def _physics_policy() -> CompiledPolicy:
    text = files("dynamo.bench").joinpath("data/dynamo_policies/Physics.txt").read_text()
    return compile_policy(parse_policy(text, file="Physics.txt"), now=REFERENCE_TIME)


def _context(inventory: Inventory) -> EvaluationContext:
    return EvaluationContext(now=REFERENCE_TIME, partition=inventory.partitions[PARTITION])


def _site_rows(inventory: Inventory, policy: CompiledPolicy) -> list[SiteRow]:
    ctx = _context(inventory)
    partition = inventory.partitions[PARTITION]
    rows = []
    for site in sorted(inventory.sites.values(), key=lambda s: s.name):
        usage = site.partitions[partition]
        rows.append(
            SiteRow(
                name=site.name,
                storage=site.storage_type.name,
                quota_bytes=usage.effective_quota(),
                used_bytes=usage.physical_bytes,
                occupancy=usage.occupancy(),
                is_target=policy.is_target(site, usage, ctx),
                is_triggered=policy.is_triggered(site, usage, ctx),
            )
        )
    return rows


def _fullest_site_verdict(
    inventory: Inventory, policy: CompiledPolicy, rows: list[SiteRow]
) -> Verdict | None:
    disk = [r for r in rows if r.storage == StorageType.DISK.name and r.quota_bytes > 0]
    if not disk:
        return None
    fullest: Site = inventory.sites[max(disk, key=lambda r: r.occupancy).name]
    ctx = _context(inventory)
    verdict = Verdict(site=fullest.name)
    for replica in fullest.dataset_replicas.values():
        verdict.replicas += 1
        for decision in policy.evaluate(replica, ctx):
            size = sum(br.size for br in decision.block_replicas)
            verdict.bytes_by_action[decision.action.name] += size
            verdict.decisions_by_line[f"{decision.line.number}: {decision.line.text}"] += 1
    return verdict


def _show(
    console: Console, inventory: Inventory, rows: list[SiteRow], verdict: Verdict | None
) -> None:
    counts = inventory.counts()
    console.print(
        f"[bold]inventory[/bold]: {counts['datasets']:,} datasets, {counts['blocks']:,} blocks, "
        f"{counts['dataset_replicas']:,} dataset replicas, {counts['block_replicas']:,} block "
        f"replicas at {counts['sites']} sites in {counts['partitions']} partitions"
    )
    watermarks = f"{LOW_WATERMARK:.0%}-{HIGH_WATERMARK:.0%}"
    table = Table(title=f"sites in partition {PARTITION} (watermarks {watermarks})")
    for column in ("site", "type", "quota TB", "used TB", "occupancy", "Physics policy"):
        table.add_column(
            column, justify="right" if column.endswith(("TB", "occupancy")) else "left"
        )
    for row in rows:
        style = (
            "red"
            if row.occupancy > HIGH_WATERMARK
            else "yellow"
            if row.occupancy > LOW_WATERMARK
            else ""
        )
        state = (
            "triggered: delete"
            if row.is_triggered
            else "target"
            if row.is_target
            else "not a target"
        )
        table.add_row(
            row.name,
            row.storage,
            f"{row.quota_bytes / TB:,.0f}",
            f"{row.used_bytes / TB:,.1f}",
            f"[{style}]{row.occupancy:.1%}[/{style}]" if style else f"{row.occupancy:.1%}",
            state,
        )
    console.print(table)
    if verdict is None:
        return
    decisions = Table(title=f"what Physics.txt decides at the fullest disk site, {verdict.site}")
    decisions.add_column("decisions", justify="right")
    decisions.add_column("deciding line")
    for line, count in verdict.decisions_by_line.most_common(8):
        decisions.add_row(f"{count:,}", line)
    console.print(decisions)
    volumes = ", ".join(
        f"{action} {size / TB:,.1f} TB" for action, size in verdict.bytes_by_action.most_common()
    )
    console.print(f"volume by decision: {volumes}")
    console.print(
        "[dim]A Detox cycle deletes the deletable replicas in policy order until the site is "
        f"under {LOW_WATERMARK:.0%}; this preview evaluates without access records or locks, "
        "which a cycle reads through its producers (`dynamo detox run --db DB --partition "
        "Physics --policy Physics.txt --dry-run`).[/dim]"
    )
