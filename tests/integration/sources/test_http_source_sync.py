"""`dynamo sync run` against a JSON-over-HTTP source on a loopback port, into SQLite,
PostgreSQL and MariaDB.

A full import into an empty database (with users and job-queue demand), an incremental sync
that picks up a new dataset, a new replica and a deleted one, a Detox dry run on the imported
inventory and a Dealer dry run whose popularity plug-in weighs the synced demand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from contract.sources.csv_writer import write_csv_source
from dynamo.api.auth.directory import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.cli.main import app
from dynamo.dealer import SqlJobQueue
from dynamo.model import DatasetStatus
from dynamo.policy import partition_compiler
from dynamo.store import SqlInventoryStore, dataset_access_summary, make_engine
from dynamo.store.schema.dealer import dealer_copies
from integration.sources.conftest import (
    AS_OF,
    JDOE,
    NAMES,
    Upstream,
    dataset,
    detox_dry_run,
    replica,
)

runner = CliRunner()


def sync(source: str, db: str, *extra: str) -> dict[str, Any]:
    result = runner.invoke(app, ["sync", "run", source, "--db", db, "--json", *extra])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def replicas(db: str) -> set[tuple[str, str]]:
    store = SqlInventoryStore.open(db)
    try:
        inventory, _ = store.load(partition_compiler(now=AS_OF))
        return {(r.dataset.name, r.site.name) for r in inventory.iter_dataset_replicas()}
    finally:
        store.close()


DEALER_CONFIG = {
    "dealer": {
        "partition_name": "Physics",
        "group_name": "AnalysisOps",
        "plugins": {
            "popularity": {
                "priority": 3,
                "module": "popularity:PopularityHandler",
                "config": {"source_groups": ["AnalysisOps"], "request_to_replica_threshold": 1.75},
            }
        },
        "target_sites": ["T2_*", "T1_*"],
    }
}


def check_users_and_demand(db: str, tmp_path: Path) -> None:
    """The synced users authenticate with their grants; the Dealer weighs the synced demand."""
    engine = make_engine(db)
    try:
        directory = SqlUserDirectory(engine, ttl=0)
        assert directory.principal_for(JDOE).grants == {(Role.OPERATOR, Target.INVENTORY)}
        assert [u.name for u in directory.list_users()] == ["jdoe", "rroe"]
        jobs = SqlJobQueue(engine).queued_jobs(AS_OF)
        assert [(j.dataset, j.jobs) for j in jobs] == [(NAMES[1], 30)]
        config = tmp_path / "dealer.json"
        config.write_text(json.dumps(DEALER_CONFIG))
        command = ["dealer", "run", "--db", db, "--config", str(config), "--now", str(AS_OF)]
        done = runner.invoke(app, [*command, "--dry-run", "--json"])
        assert done.exit_code == 0, done.output
        with engine.connect() as conn:
            proposed = conn.execute(select(dealer_copies.c.plugin, dealer_copies.c.dataset)).all()
        # request_weight 30 (an hour old) / 1.75: 10 copies wanted, 1 exists
        assert proposed.count(("popularity", NAMES[1])) == 9
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_a_full_import_then_an_incremental_sync_then_a_detox_dry_run(
    upstream: tuple[Upstream, str], db: str, tmp_path: Path
) -> None:
    state, url = upstream
    first = sync(url, db)
    assert first["mode"] == "full"
    assert [c["kind"] for c in first["conflicts"]] == ["unknown_dataset"]
    assert first["accesses_read"] == 2
    assert first["users"] == {"added": 2, "granted": 1, "revoked": 0}
    assert first["demand"] == {"rows": 1, "replace": True}
    engine = make_engine(db)
    try:
        accesses = {name: n for name, _last, n in dataset_access_summary(engine, since=0)}
    finally:
        engine.dispose()
    assert accesses == {NAMES[0]: 7, NAMES[1]: 3}
    check_users_and_demand(db, tmp_path)
    assert first["counts"]["upsert_dataset"] == 3
    assert first["counts"]["upsert_file"] == 24
    assert replicas(db) == {
        (NAMES[0], "T2_US_MIT"),
        (NAMES[0], "T2_CH_CERN"),
        (NAMES[1], "T2_US_MIT"),
        (NAMES[2], "T1_US_FNAL_Disk"),
    }
    again = sync(url, db)  # a second full sync finds nothing to do
    assert again["operations"] == 0
    assert again["users"] == {"added": 0, "granted": 0, "revoked": 0}

    state.doc = {
        "version": 1,
        "as_of": AS_OF + 60,
        "datasets": [dataset(NAMES[3], 3)],
        "replicas": [replica(NAMES[3], "T2_CH_CERN"), replica(NAMES[1], "T1_US_FNAL_Disk")],
        "deleted": {"replicas": [[NAMES[0], "T2_CH_CERN"]]},
    }
    second = sync(url, db, "--since", str(AS_OF))
    assert second["mode"] == "incremental"
    assert any("since=1700000000" in path for path in state.requests)
    assert replicas(db) == {
        (NAMES[0], "T2_US_MIT"),
        (NAMES[1], "T2_US_MIT"),
        (NAMES[1], "T1_US_FNAL_Disk"),
        (NAMES[2], "T1_US_FNAL_Disk"),
        (NAMES[3], "T2_CH_CERN"),
    }

    cycle = detox_dry_run(db, "--now", str(AS_OF + 120))
    assert cycle["dry_run"] is True
    assert replicas(db) == {
        (NAMES[0], "T2_US_MIT"),
        (NAMES[1], "T2_US_MIT"),
        (NAMES[1], "T1_US_FNAL_Disk"),
        (NAMES[2], "T1_US_FNAL_Disk"),
        (NAMES[3], "T2_CH_CERN"),
    }


def test_a_dataset_deleted_upstream_keeps_its_replicas_and_the_sync_says_so(
    upstream: tuple[Upstream, str], db: str, tmp_path: Path
) -> None:
    state, url = upstream
    sync(url, db)
    state.doc["datasets"] = state.doc["datasets"][1:]
    state.doc["replicas"] = state.doc["replicas"][2:]
    path = tmp_path / "source.json"
    path.write_text(json.dumps(state.doc))
    dry = sync(str(path), db, "--dry-run")
    kinds = [c["kind"] for c in dry["conflicts"]]
    assert kinds == ["dataset_deleted_with_replicas", "unknown_dataset"]  # and the demand's
    assert dry["committed_seq"] is None
    done = sync(str(path), db)
    assert done["committed_seq"] is not None
    store = SqlInventoryStore.open(db)
    try:
        inventory, _ = store.load(partition_compiler(now=AS_OF))
        assert inventory.datasets[NAMES[0]].status == DatasetStatus.DELETED
        assert len(inventory.datasets[NAMES[0]].replicas) == 2
    finally:
        store.close()


def test_a_source_that_cannot_be_read_fails_with_its_code(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 2}')
    result = runner.invoke(app, ["sync", "run", str(bad), "--db", db])
    assert result.exit_code == 2
    assert "error[source_format]" in result.output


def test_a_directory_of_csv_files_syncs_as_the_http_source_does(
    upstream: tuple[Upstream, str], db: str, tmp_path: Path
) -> None:
    state, url = upstream
    directory = write_csv_source(state.doc, tmp_path / "csv")
    first = sync(str(directory), db)
    assert first["counts"]["upsert_file"] == 24
    assert first["users"] == {"added": 2, "granted": 1, "revoked": 0}
    assert len(replicas(db)) == 4
    same = sync(url, db)  # the same upstream over HTTP: nothing left to do
    assert same["operations"] == 0
    assert same["users"] == {"added": 0, "granted": 0, "revoked": 0}
