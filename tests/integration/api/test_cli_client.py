"""The CLI client against a real server: uvicorn on a loopback port, plain HTTP, SQLite store.

Authentication is the x509 colleague's subject; here every caller is an operator (a test
double named as such), so these tests are about the client and the routes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from typer.testing import CliRunner

from doubles import toy_compiler
from dynamo.api.app import create_app
from dynamo.api.security import Principal, Role, Target
from dynamo.bench.serving import ThreadServer, free_port
from dynamo.cli.main import app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import DATASET, base_ops

runner = CliRunner()
NEW = "/DoubleMuon/Run2018B-17Sep2018-v1/AOD"


class EveryoneIsOperator:
    """Test double: every caller is an operator on the inventory."""

    async def principal(self, request: Request) -> Principal:
        return Principal(
            dn="/CN=test operator", grants=frozenset({(Role.OPERATOR, Target.INVENTORY)})
        )


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/cli.sqlite", upgrade=True)
    service = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), service.inventory)
    api = create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=EveryoneIsOperator(),
    )
    with ThreadServer(api) as url:
        yield url
    store.close()


def test_ls_datasets_prints_json_from_the_server(server_url: str) -> None:
    result = runner.invoke(app, ["ls", "datasets", "--server", server_url, "--json"])
    assert result.exit_code == 0, result.output
    assert [d["name"] for d in json.loads(result.stdout)["items"]] == [DATASET]


def test_ls_sites_and_replicas_print_tables(server_url: str) -> None:
    sites = runner.invoke(
        app, ["ls", "sites", "--server", server_url, "--partition", "AnalysisOps"]
    )
    assert sites.exit_code == 0, sites.output
    assert "T2_US_MIT" in sites.output
    assert "50.0%" in sites.output
    replicas = runner.invoke(
        app, ["ls", "replicas", "--blocks", "--site", "T2_US_MIT", "--server", server_url]
    )
    assert replicas.exit_code == 0
    assert "block replicas (2)" in replicas.output


def test_inject_from_a_file_then_list_it(server_url: str, tmp_path: Path) -> None:
    body = {
        "datasets": [
            {
                "name": NEW,
                "blocks": [
                    {
                        "name": "b1",
                        "files": [
                            {"lfn": "/store/data/Run2018B/DoubleMuon/AOD/x.root", "size": 10}
                        ],
                    }
                ],
            }
        ],
        "dataset_replicas": [
            {"dataset": NEW, "site": "T2_US_MIT", "block_replicas": [{"block": "b1"}]}
        ],
    }
    path = tmp_path / "inject.json"
    path.write_text(json.dumps(body))
    result = runner.invoke(app, ["inject", str(path), "--server", server_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["operations"] == 5
    files = runner.invoke(app, ["ls", "files", NEW, "b1", "--server", server_url, "--json"])
    assert [f["lfn"] for f in json.loads(files.stdout)] == [
        "/store/data/Run2018B/DoubleMuon/AOD/x.root"
    ]


def test_a_bad_injection_file_is_reported_with_its_position(
    server_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"datasets": [\n  {"name": }\n]}')
    result = runner.invoke(app, ["inject", str(path), "--server", server_url])
    assert result.exit_code == 2
    assert "bad.json:2:" in result.output


def test_a_server_error_is_printed_with_its_code_and_a_non_zero_exit(
    server_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "unknown.json"
    path.write_text(
        json.dumps({"dataset_replicas": [{"dataset": "/No/Such/AOD", "site": "T2_US_MIT"}]})
    )
    result = runner.invoke(app, ["inject", str(path), "--server", server_url])
    assert result.exit_code == 2
    assert "error[invalid_changeset]" in result.output
    assert "unknown dataset '/No/Such/AOD'" in result.output


def test_an_unreachable_server_is_a_clear_error() -> None:
    result = runner.invoke(app, ["ls", "datasets", "--server", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 2
    assert "cannot reach the Dynamo server" in result.output
