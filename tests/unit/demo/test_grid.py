"""The demo grid: every registered replica's files are on disk with the registered size and
checksum, quotas put one site above the high watermark, and the planted faults are there."""

from __future__ import annotations

import json
import socket
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dynamo.cli.main import app
from dynamo.demo.config import write_config
from dynamo.demo.grid import PARTITION, GridLayout, GridReport, build_grid
from dynamo.demo.jobs import SyntheticJobs, request_a_copy
from dynamo.fileops.ports import OpKind
from dynamo.fileops.queries import link_rates
from dynamo.model import Inventory
from dynamo.policy import partition_compiler
from dynamo.server.config import load_config
from dynamo.store import SqlInventoryStore
from dynamo.store.schema import block_replicas, files, sites
from dynamo.store.schema.detox import popularity_accesses

NOW = 1_795_000_000


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[GridLayout, GridReport]:
    layout = GridLayout(tmp_path_factory.mktemp("grid"))
    return layout, build_grid(layout, seed=3, now=NOW)


def _inventory(layout: GridLayout) -> Inventory:
    store = SqlInventoryStore.open(layout.db_url)
    try:
        inventory, _ = store.load(partition_compiler(now=NOW))
    finally:
        store.close()
    return inventory


def _replica_files(layout: GridLayout) -> list[tuple[str, str, int, str]]:
    """(site, LFN, size, adler32) of every file of every block replica, from the database."""
    query = (
        select(sites.c.name, files.c.lfn, files.c.size, files.c.adler32)
        .select_from(block_replicas)
        .join(sites, sites.c.id == block_replicas.c.site_id)
        .join(files, files.c.block_id == block_replicas.c.block_id)
    )
    store = SqlInventoryStore.open(layout.db_url)
    try:
        with store.engine.connect() as conn:
            return [(row[0], row[1], row[2], row[3]) for row in conn.execute(query)]
    finally:
        store.close()


def test_every_replica_file_is_on_disk_as_registered(grid: tuple[GridLayout, GridReport]) -> None:
    layout, report = grid
    checked = 0
    for site, lfn, size, adler32 in _replica_files(layout):
        path = layout.path_of(site, lfn)
        if (site, lfn) == report.missing:
            assert not path.exists()
            continue
        data = path.read_bytes()
        assert len(data) == size
        assert f"{zlib.adler32(data) & 0xFFFFFFFF:08x}" == adler32
        checked += 1
    assert checked == report.files_written - 1
    inventory = _inventory(layout)
    assert all(
        replica.is_complete()
        for site in inventory.sites.values()
        for dataset_replica in site.dataset_replicas.values()
        for replica in dataset_replica.block_replicas.values()
    )


def test_quotas_put_one_site_above_the_high_watermark(grid: tuple[GridLayout, GridReport]) -> None:
    layout, report = grid
    inventory = _inventory(layout)
    physics = inventory.partitions[PARTITION]
    occupancy = {
        name: site.partitions[physics].occupancy()
        for name, site in inventory.sites.items()
        if report.sites[name] != "tape"
    }
    full = report.site_with("full")
    assert occupancy[full] == pytest.approx(0.95, abs=0.01)
    assert all(value < 0.85 for name, value in occupancy.items() if name != full)
    assert report.site_with("tape").endswith("_MSS")


def test_the_planted_orphan_is_on_disk_and_not_in_the_inventory(
    grid: tuple[GridLayout, GridReport],
) -> None:
    layout, report = grid
    site, lfn = report.orphan
    assert layout.path_of(site, lfn).is_file()
    assert all(registered != lfn for _, registered, _, _ in _replica_files(layout))
    missing_site, _ = report.missing
    assert report.sites[missing_site] == "disk"


def test_the_poor_site_has_a_poor_transfer_record(grid: tuple[GridLayout, GridReport]) -> None:
    layout, report = grid
    store = SqlInventoryStore.open(layout.db_url)
    try:
        rates = link_rates(store.engine, kind=OpKind.TRANSFER, now=NOW, window=86_400)
    finally:
        store.close()
    [rate] = [r for r in rates if r.site == report.site_with("poor")]
    assert rate.files_done / (rate.files_done + rate.files_failed) < 0.5


def test_the_written_configuration_is_a_valid_server_configuration(
    grid: tuple[GridLayout, GridReport],
) -> None:
    layout, report = grid
    files = write_config(layout, report.sites, port=18_123)
    config = load_config(files.server)
    assert config.port == 18_123
    assert config.allow_http
    assert config.host == "127.0.0.1"
    assert set(config.fileops.endpoints) == set(report.sites)
    assert config.fileops.endpoints[report.site_with("tape")].is_tape
    assert config.dealer.job_feed == files.job_feed
    assert {entry.app for entry in config.scheduler.intervals} == {
        "consistency",
        "detox",
        "dealer",
        "fileops",
        "updater",
    }
    assert (
        config.detox.partitions[PARTITION].policy_file.read_text().startswith("Partition Physics")
    )


def test_jobs_record_accesses_and_queue_demand(
    grid: tuple[GridLayout, GridReport], tmp_path: Path
) -> None:
    layout, _ = grid
    store = SqlInventoryStore.open(layout.db_url)
    try:
        jobs = SyntheticJobs(store.engine, tmp_path / "jobs.json", seed=3)
        assert jobs.tick(NOW) > 0
        with store.engine.connect() as conn:
            recorded = conn.execute(select(popularity_accesses.c.num_accesses)).scalars().all()
    finally:
        store.close()
    assert sum(recorded) >= jobs.jobs_run > 0
    feed = json.loads((tmp_path / "jobs.json").read_text())
    assert feed
    assert all(entry["queued"] == NOW and entry["jobs"] > 0 for entry in feed)


def test_a_physicist_requests_a_copy_where_the_dataset_is_not(
    grid: tuple[GridLayout, GridReport],
) -> None:
    layout, _ = grid
    made = request_a_copy(layout.db_url, seed=3, now=NOW)
    assert made is not None
    inventory = _inventory(layout)
    [dataset], [site] = made.items, made.sites
    assert inventory.sites[site] not in inventory.datasets[dataset].replicas


def test_the_demo_refuses_a_taken_port_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["demo", "--dir", str(tmp_path), "--port", str(port), "--duration", "5"]
        )
    assert result.exit_code != 0
    assert f"port {port} on 127.0.0.1 is taken" in result.output
    assert not (tmp_path / "dynamo.sqlite").exists()
