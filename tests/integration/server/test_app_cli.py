"""`dynamo app ...` against a real server: uvicorn in a thread on a loopback port, SQLite,
the scheduler started by the application's lifespan (so children fork from that thread)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sched_support import make_scheduler
from starlette.requests import Request
from typer.testing import CliRunner

from doubles import toy_compiler
from dynamo.api.app import create_app
from dynamo.api.security import Principal, Role, Target
from dynamo.bench.serving import ThreadServer
from dynamo.cli.main import app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import base_ops

runner = CliRunner()


class EveryoneIsApplicationAdmin:
    """Test double: every caller is admin on target application."""

    async def principal(self, request: Request) -> Principal:
        return Principal(dn="/CN=ops", grants=frozenset({(Role.ADMIN, Target.APPLICATION)}))


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/cli.sqlite", upgrade=True)
    loaded = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), loaded.inventory)
    service = InventoryService.load(store, partition_compiler=toy_compiler)
    scheduler = make_scheduler(service, store, tmp_path / "work")
    api = create_app(service, authenticator=EveryoneIsApplicationAdmin(), scheduler=scheduler)
    with ThreadServer(api) as url:
        yield url
    store.close()


def test_app_list_shows_the_registered_applications(server_url: str) -> None:
    result = runner.invoke(app, ["app", "list", "--server", server_url, "--json"])
    assert result.exit_code == 0, result.output
    assert "set-dataset-status" in {a["name"] for a in json.loads(result.stdout)}


def test_app_run_wait_then_log_and_list_runs(server_url: str) -> None:
    ran = runner.invoke(
        app, ["app", "run", "inventory-stats", "--wait", "--json", "--server", server_url]
    )
    assert ran.exit_code == 0, ran.output
    run = json.loads(ran.stdout)
    assert run["status"] == "done"
    logged = runner.invoke(app, ["app", "log", str(run["id"]), "--follow", "--server", server_url])
    assert logged.exit_code == 0, logged.output
    assert "counts:" in logged.stdout
    listed = runner.invoke(app, ["app", "list", "--runs", "--json", "--server", server_url])
    assert [r["id"] for r in json.loads(listed.stdout)] == [run["id"]]


def test_a_write_run_from_the_cli_after_authorising_it(server_url: str) -> None:
    args = ["--arg", "datasets=/ZeroBias/*", "--arg", "status=INVALID", "--server", server_url]
    refused = runner.invoke(app, ["app", "run", "set-dataset-status", *args])
    assert refused.exit_code != 0
    assert "forbidden" in refused.output
    granted = runner.invoke(
        app, ["app", "authorize", "set-dataset-status", "--dn", "/CN=ops", "--server", server_url]
    )
    assert granted.exit_code == 0, granted.output
    ran = runner.invoke(app, ["app", "run", "set-dataset-status", "--wait", "--json", *args])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["log_seq"] == 2


def test_app_kill_of_a_finished_run_is_refused(server_url: str) -> None:
    ran = runner.invoke(app, ["app", "run", "noop", "--wait", "--json", "--server", server_url])
    run_id = json.loads(ran.stdout)["id"]
    killed = runner.invoke(app, ["app", "kill", str(run_id), "--server", server_url])
    assert killed.exit_code != 0
    assert "conflict" in killed.output
