"""``dynamo userdata`` against a real server on a loopback port: inject a local file (the whole
job sequence), status, usage and health, complete, subscribe, delete, import, and the errors
the server answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.requests import Request
from typer.testing import CliRunner, Result

from dynamo.api.app import create_app
from dynamo.api.security import Principal, Role, Target
from dynamo.bench.serving import ThreadServer
from dynamo.cli.main import app
from dynamo.fileops.endpoints import Endpoint, Endpoints
from dynamo.model import ChangeSet, UpsertSite
from dynamo.policy import partition_compiler
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore

runner = CliRunner()
DATASET = "/SingleMuon/alice-skim_v1/USER"
SITES = ("T2_US_MIT", "T2_DE_DESY")


class EveryoneIsAlice:
    """Test double: every caller is alice, a user-data user who is also an admin there."""

    async def principal(self, request: Request) -> Principal:
        grants = frozenset({(Role.USER, Target.USERDATA), (Role.ADMIN, Target.USERDATA)})
        return Principal(dn="/CN=alice", user="alice", grants=grants)


@dataclass
class Served:
    url: str
    roots: dict[str, Path]

    def invoke(self, *args: str) -> Result:
        command, *rest = args
        return runner.invoke(app, ["userdata", command, "--server", self.url, *rest])

    def run(self, *args: str) -> str:
        result = self.invoke(*args)
        assert result.exit_code == 0, result.output
        return result.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/cli.sqlite", upgrade=True)
    store.commit(ChangeSet.of(UpsertSite(name=s) for s in SITES), store.load()[0])
    roots = {site: tmp_path / site for site in SITES}
    endpoints = Endpoints({s: Endpoint(site=s, url=f"file://{roots[s]}") for s in SITES})
    api = create_app(
        InventoryService.load(store, partition_compiler=partition_compiler()),
        authenticator=EveryoneIsAlice(),
        endpoints=endpoints,
    )
    with ThreadServer(api) as url:
        yield Served(url, roots)
    store.close()


def test_inject_a_local_file_then_follow_the_dataset_to_its_deletion(
    served: Served, tmp_path: Path
) -> None:
    for site in SITES:
        served.run("quota", site, "1000000")
    local = tmp_path / "histos.root"
    data = b"histograms " * 1000
    local.write_bytes(data)
    out = served.run("inject", str(local), "--dataset", DATASET, "--site", "T2_US_MIT")
    lfn = "/store/user/alice/skim_v1/histos.root"
    assert f"{lfn} registered at T2_US_MIT in block T2_US_MIT-0001" in out
    stored = served.roots["T2_US_MIT"] / lfn.lstrip("/")
    assert stored.read_bytes() == data
    status = json.loads(served.run("status", DATASET, "--json"))
    assert (status["state"], status["num_files"], status["sites"]) == ("open", 1, ["T2_US_MIT"])
    listed = json.loads(served.run("status", "--json", "--owner", "alice"))
    assert [d["name"] for d in listed] == [DATASET]
    usage = json.loads(served.run("usage", "--json"))
    assert usage == [{"user": "alice", "site": "T2_US_MIT", "bytes": len(data), "files": 1}]
    health = json.loads(served.run("health", "--json"))
    assert (health["quota"], health["unique_bytes"], health["level"]) == (
        2_000_000,
        len(data),
        "ok",
    )
    assert "closed" in served.run("complete", DATASET)
    assert "0 file transfers" in served.run("subscribe", DATASET, "T2_US_MIT")
    assert json.loads(served.run("status", DATASET, "--json"))["state"] == "consolidated"
    assert "1 file deletions subscribed" in served.run("delete", DATASET)
    assert json.loads(served.run("status", DATASET, "--json"))["state"] == "deleting"


def test_a_second_injection_of_the_same_name_fails_with_the_servers_error(
    served: Served, tmp_path: Path
) -> None:
    served.run("quota", "T2_US_MIT", "--", "-1")
    local = tmp_path / "a.root"
    local.write_bytes(b"a" * 100)
    served.run("inject", str(local), "--dataset", DATASET, "--site", "T2_US_MIT")
    again = served.invoke("inject", str(local), "--dataset", DATASET, "--site", "T2_US_MIT")
    assert again.exit_code == 2
    assert "error[conflict]" in again.output
    assert "registered already" in again.output


def test_an_import_is_queued_and_a_bad_source_refused(served: Served) -> None:
    served.run("quota", "T2_US_MIT", "--", "-1")
    out = served.run(
        "import",
        DATASET,
        "T2_US_MIT",
        "/store/user/alice/old/a.root=https://eos.example.org/old/a.root,0a0b0c0d",
    )
    assert "1 files queued for import" in out
    # nothing is registered before the file is copied and checked
    assert json.loads(served.run("status", "--json")) == []
    refused = served.invoke(
        "import", DATASET, "T2_US_MIT", "/store/user/alice/b.root=file:///etc/passwd"
    )
    assert refused.exit_code == 2
    assert "error[bad_request]" in refused.output
