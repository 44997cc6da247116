"""Dealer cycles on a database: a copy request made through the API, activated by the next
cycle and completed once its transfers are done; the history through the API; the limits
and the transfer record read from the database; the scheduled application."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from dealer_data import GB, NOW, grid, sample, write_world
from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.cli.main import app
from dynamo.dealer import DealerConfig, DealerOptions, PlugInSettings, run_cycle
from dynamo.dealer.facts import reliabilities
from dynamo.model import ChangeSet, Inventory, UpsertBlockReplica
from dynamo.policy import partition_compiler
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.server.scheduler import build_scheduler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from dynamo.store.appruns import RunStatus
from dynamo.store.schema.dealer import dealer_cycles
from dynamo.store.schema.fileops import fileop_history, fileop_subscriptions
from integration.server.sched_support import finished
from unit.policy.builders import Builder

ALICE = {"X-Test-DN": "/CN=alice", "X-Test-Grants": "user:registry"}
SITES = {"T2_A": 100, "T2_B": 100, "T2_C": 100}


def _world() -> Builder:
    b = grid(SITES)
    for i in range(6):
        sample(b, f"/D{i}/B/AOD")
    return b


@pytest.fixture
def store(tmp_path: Path) -> SqlInventoryStore:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/dealer.sqlite", upgrade=True)
    write_world(store, _world())
    return store


@pytest.fixture
async def api(store: SqlInventoryStore) -> AsyncIterator[httpx.AsyncClient]:
    service = InventoryService.load(store, partition_compiler=partition_compiler(now=NOW))
    application = create_app(service, authenticator=HeaderTestAuthenticator())
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _dealer(store: SqlInventoryStore, *extra: str, now: int = NOW) -> dict[str, Any]:
    url = str(store.engine.url)
    result = CliRunner().invoke(
        app, ["dealer", "run", "--db", url, "--now", str(now), "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _load(store: SqlInventoryStore) -> Inventory:
    inventory, _ = store.load(partition_compiler(now=NOW))
    return inventory


def _finish_transfers(store: SqlInventoryStore, site: str, dataset: str) -> None:
    """What file operations and the updater do once the files arrived: complete replicas."""
    inventory = _load(store)
    replica = inventory.sites[site].dataset_replicas[inventory.datasets[dataset]]
    changeset = ChangeSet.of(
        [
            UpsertBlockReplica(
                dataset=dataset, block=block.name, site=site, group=br.group.name, last_update=NOW
            )
            for block, br in replica.block_replicas.items()
        ]
    )
    store.write(changeset, inventory)


async def test_a_copy_request_through_the_api_is_activated_by_the_next_cycle_and_completed(
    store: SqlInventoryStore, api: httpx.AsyncClient
) -> None:
    body = {"items": ["/D0/B/AOD"], "sites": ["T2_A", "T2_B"], "group": "AnalysisOps", "n": 1}
    made = await api.post("/api/v1/requests/copy", json=body, headers=ALICE)
    assert made.status_code in (200, 201), made.text
    rid = made.json()["id"]
    cycle = _dealer(store)
    assert cycle["copies_by_plugin"].get("requests") == 1
    request = (await api.get(f"/api/v1/requests/{rid}")).json()
    assert request["status"] == "activated"
    [action] = request["actions"]
    site = action["site"]
    assert site in ("T2_A", "T2_B")
    with store.engine.connect() as conn:
        subscribed = conn.execute(
            select(fileop_subscriptions.c.lfn).where(
                fileop_subscriptions.c.site == site,
                fileop_subscriptions.c.dataset == "/D0/B/AOD",
                fileop_subscriptions.c.origin == "dealer",
            )
        ).all()
        status = conn.execute(
            select(dealer_cycles.c.status, dealer_cycles.c.log_seq).where(
                dealer_cycles.c.id == cycle["cycle"]
            )
        ).one()
    assert len(subscribed) == 20  # every file of both blocks
    assert status[0] == "committed"
    assert status[1] is not None
    _finish_transfers(store, site, "/D0/B/AOD")
    _dealer(store, now=NOW + 60)
    request = (await api.get(f"/api/v1/requests/{rid}")).json()
    assert request["status"] == "completed"
    cycles = (await api.get("/api/v1/dealer/cycles")).json()
    assert [c["id"] for c in cycles["items"]] == [cycle["cycle"] + 1, cycle["cycle"]]
    copies = (await api.get(f"/api/v1/dealer/cycles/{cycle['cycle']}/copies")).json()
    placed = [c for c in copies["items"] if c["request_id"] == rid]
    assert placed[0]["status"] == "accepted"
    assert placed[0]["site"] == site
    assert (await api.get("/api/v1/dealer/cycles/999/copies")).status_code == 404


def test_the_cycle_volume_cap_and_target_occupancy_hold_on_a_database(
    store: SqlInventoryStore, tmp_path: Path
) -> None:
    config = tmp_path / "dealer.json"
    config.write_text(
        json.dumps(
            {
                "partition_name": "Physics",
                "target_sites": ["T2_*"],
                "target_site_occupancy": 0.05,
                "max_site_pending_fraction": 1.0,
                "max_total_cycle_volume": 0.011,  # 11 GB
                "plugins": {
                    "undertaker": {
                        "priority": 1,
                        "module": "undertaker:Undertaker",
                        "config": {"additional_sites": ["T1_XX_Tape"]},
                    }
                },
            }
        )
    )
    cycle = _dealer(store, "--config", str(config))
    assert cycle["volume"] <= 11 * GB
    assert cycle["copies"] == 5  # 4 GB per site (5 %), and 11 GB in all
    assert cycle["rejections"] == {"cycle volume cap reached": 1}
    inventory = _load(store)
    for name, quota in SITES.items():
        usage = next(u for p, u in inventory.sites[name].partitions.items() if p.name == "Physics")
        assert usage.projected_bytes <= 0.05 * quota * GB


def test_a_dry_run_records_a_test_cycle_and_changes_nothing(store: SqlInventoryStore) -> None:
    before = store.last_seq()
    body = _dealer(store, "--dry-run", "--config", str(_undertaker(store)))
    assert body["copies"] > 0
    assert store.last_seq() == before
    with store.engine.connect() as conn:
        assert conn.execute(select(fileop_subscriptions.c.id)).first() is None
        assert conn.execute(select(dealer_cycles.c.status)).scalar_one() == "test"


def _undertaker(store: SqlInventoryStore) -> Path:
    path = Path(str(store.engine.url.database)).parent / "undertaker.json"
    path.write_text(
        '{"target_sites": ["T2_*"], "plugins": {"u": {"module": "undertaker:Undertaker",'
        ' "priority": 1, "config": {"additional_sites": ["T1_XX_Tape"]}}}}'
    )
    return path


def test_a_site_with_a_poor_transfer_record_receives_less_than_an_equal_healthy_one(
    tmp_path: Path,
) -> None:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/rel.sqlite", upgrade=True)
    b = grid({"T2_Good": 1000, "T2_Poor": 1000})
    for i in range(60):
        sample(b, f"/R{i:02d}/B/AOD", blocks=1)
    inventory = write_world(store, b)
    rows = [
        {
            "kind": "transfer",
            "lfn": f"/store/x/{site}/{i}",
            "site": site,
            "source_site": "T1_XX_Tape",
            "backend": "standalone",
            "size": GB,
            "status": "failed" if i < failures else "done",
            "origin": "dealer",
            "created": NOW - 3600,
            "finished": NOW - 60,
        }
        for site, failures in (("T2_Good", 2), ("T2_Poor", 14))
        for i in range(20)
    ]
    with store.engine.begin() as conn:
        conn.execute(insert(fileop_history), rows)
    rates = reliabilities(store.engine, now=NOW, window=86_400, min_transfers=10)
    assert rates == {"T2_Good": 0.9, "T2_Poor": 0.3}
    options = DealerOptions(target_sites=("T2_*",), max_pending_fraction=1)
    placed = {"T2_Good": 0, "T2_Poor": 0}
    for seed in range(3):
        result = run_cycle(
            inventory,
            _undertaker_config(options),
            now=NOW,
            engine=store.engine,
            seed=seed,
            dry_run=True,
        )
        for site, size in result.plan.site_bytes.items():
            placed[site] += size
    store.close()
    assert placed["T2_Poor"] < 0.6 * placed["T2_Good"]


def _undertaker_config(options: DealerOptions) -> DealerConfig:
    return DealerConfig(
        options=options,
        plugins=(
            PlugInSettings(
                name="undertaker",
                kind="undertaker",
                priority=1,
                config={"additional_sites": ["T1_XX_Tape"]},
            ),
        ),
    )


async def test_the_scheduled_application_commits_the_cycle_with_its_history(
    store: SqlInventoryStore, tmp_path: Path
) -> None:
    service = InventoryService.load(store, partition_compiler=partition_compiler(now=NOW))
    scheduler = build_scheduler(
        service,
        store,
        SchedulerConfig(work_dir=tmp_path / "work", poll_seconds=0.02, default_timeout=120),
    )
    assert scheduler is not None
    await scheduler.start()
    try:
        run = await scheduler.submit(
            "dealer", args={"config": str(_undertaker(store))}, authorized=True
        )
        done = await finished(scheduler, run)
    finally:
        await scheduler.stop()
    assert done.status is RunStatus.DONE, done.error
    assert done.summary["copies"] > 0  # type: ignore[index]
    with store.engine.connect() as conn:
        status, log_seq = conn.execute(
            select(dealer_cycles.c.status, dealer_cycles.c.log_seq)
        ).one()
        subscribed = conn.execute(select(fileop_subscriptions.c.id)).all()
    assert status == "committed"
    assert log_seq == done.log_seq == service.seq
    assert len(subscribed) == 10 * 2 * done.summary["copies"]  # type: ignore[index]
