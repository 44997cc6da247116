"""Detox cycles on a generated inventory in SQLite: the CLI and the scheduled application.

The acceptance of the Detox issue: with the real Physics policy and the real partitions file,
every triggered site ends at or under the low watermark or says why not, no block loses its
last complete copy, every decision names a line, and the same seed gives the same plan.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dynamo.bench.build import build_database
from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.scales import SCALES
from dynamo.cli.main import app
from dynamo.policy import partition_compiler
from dynamo.server.config import ServerConfig
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.server.scheduler import build_scheduler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore, cycle_decisions, cycle_lines, list_cycles
from dynamo.store.appruns import RunStatus
from dynamo.store.schema.detox import detox_cycles, replica_deletions
from integration.server.sched_support import finished
from unit.policy.builders import PARTITIONS, POLICIES

PHYSICS = POLICIES / "detox" / "Physics.txt"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("detox") / "xs.sqlite"
    build_database(f"sqlite:///{path}", SCALES["xs"], seed=0)
    return path


@pytest.fixture
def db(generated: Path, tmp_path: Path) -> str:
    copy = tmp_path / "xs.sqlite"
    shutil.copy(generated, copy)
    return f"sqlite:///{copy}"


def _detox(db: str, *extra: str, policy: Path = PHYSICS) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(
        app,
        [
            "detox",
            "run",
            "--db",
            db,
            "--partition",
            "Physics",
            "--policy",
            str(policy),
            "--partitions",
            str(PARTITIONS),
            "--now",
            str(REFERENCE_TIME),
            "--json",
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_a_cycle_brings_triggered_sites_under_the_low_watermark_or_says_why(db: str) -> None:
    cycle = _detox(db)
    triggered = [s for s in cycle["sites"] if s["triggered"]]
    assert triggered, "the generated inventory has sites above 90 %"
    for site in triggered:
        assert site["occupancy_after"] <= 0.85 or site["stop_reason"], site
    assert cycle["decisions"]["delete"] > 0
    assert set(cycle["decisions"]) == {"delete", "keep", "protect"}


def test_a_committed_cycle_deletes_no_last_copy_and_names_a_line_for_every_decision(
    db: str,
) -> None:
    cycle = _detox(db)
    store = SqlInventoryStore.open(db)
    try:
        inventory, _ = store.load(partition_compiler(now=REFERENCE_TIME))
        with store.engine.connect() as conn:
            queued = conn.execute(
                select(
                    replica_deletions.c.dataset, replica_deletions.c.block, replica_deletions.c.site
                )
            ).all()
            status = conn.execute(select(detox_cycles.c.status, detox_cycles.c.log_seq)).one()
        assert status[0] == "committed"
        assert status[1] is not None
        assert len(queued) == cycle["deleted_block_replicas"] > 0
        for dataset, block, site in queued:
            found = inventory.find_block(dataset, block)
            assert found is not None
            survivors = [
                br
                for br in found.replicas
                if br.site.name != site and br.group.name is not None and br.is_complete()
            ]
            assert survivors, f"{dataset}#{block} lost its last copy at {site}"
            mine = next(br for br in found.replicas if br.site.name == site)
            assert mine.group.name is None  # handed to the null group
        lines = {line.line_id for line in cycle_lines(store.engine, cycle["cycle"])}
        page = cycle_decisions(store.engine, cycle["cycle"], limit=100_000)
        assert page.items
        assert {d.line_id for d in page.items} <= lines
    finally:
        store.close()


def test_a_dry_run_changes_nothing_and_the_same_seed_gives_the_same_plan(db: str) -> None:
    first = _detox(db, "--dry-run", "--seed", "3")
    second = _detox(db, "--dry-run", "--seed", "3")
    store = SqlInventoryStore.open(db)
    try:
        rows = [
            [
                (d.site, d.dataset, d.decision, d.line_id, d.size)
                for d in cycle_decisions(store.engine, c, limit=100_000).items
            ]
            for c in (first["cycle"], second["cycle"])
        ]
        with store.engine.connect() as conn:
            assert conn.execute(select(replica_deletions.c.id)).first() is None
        assert [c.status.value for c in list_cycles(store.engine).items] == ["test", "test"]
    finally:
        store.close()
    assert rows[0] == rows[1]
    assert first["sites"] == second["sites"]


def test_a_broken_policy_keeps_the_last_good_one_and_says_so(db: str, tmp_path: Path) -> None:
    broken = tmp_path / "Physics.txt"
    broken.write_text("Partition Physics\nOn site.name in [T2_*\n")
    result = CliRunner().invoke(
        app,
        [
            "detox",
            "run",
            "--db",
            db,
            "--partition",
            "Physics",
            "--policy",
            str(broken),
            "--dry-run",
        ],
    )
    assert result.exit_code != 0
    assert "no earlier cycle left a good one" in result.output
    _detox(db, "--dry-run")
    fallback = _detox(db, "--dry-run", policy=broken)
    assert fallback["policy_error"].startswith(f"{broken}:2:")
    assert fallback["decisions"]["delete"] > 0


async def test_the_scheduled_application_commits_the_cycle_with_its_history(
    db: str, tmp_path: Path
) -> None:
    store = SqlInventoryStore.open(db)
    config = tmp_path / "dynamo.toml"
    config.write_text(
        f'[detox.partitions.Physics]\npolicy = "{PHYSICS}"\npartitions = "{PARTITIONS}"\n'
    )
    from dynamo.server.config import load_config

    settings: ServerConfig = load_config(config)
    service = InventoryService.load(
        store, partition_compiler=partition_compiler(now=REFERENCE_TIME)
    )
    scheduler = build_scheduler(
        service,
        store,
        SchedulerConfig(work_dir=tmp_path / "work", poll_seconds=0.02, default_timeout=120),
        detox=settings.detox,
    )
    assert scheduler is not None
    await scheduler.start()
    try:
        run = await scheduler.submit("detox", authorized=True)
        done = await finished(scheduler, run)
    finally:
        await scheduler.stop()
        store.close()
    assert done.status is RunStatus.DONE, done.error
    [cycle] = done.summary["cycles"]  # type: ignore[index]
    assert cycle["deleted_block_replicas"] > 0
    store = SqlInventoryStore.open(db)
    try:
        [recorded] = list_cycles(store.engine).items
        assert recorded.status.value == "committed"
        assert recorded.log_seq == done.log_seq == service.seq
    finally:
        store.close()
