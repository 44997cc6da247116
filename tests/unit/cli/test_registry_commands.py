"""`dynamo request ...` and `dynamo lock ...` against a real server on a loopback port.

The server is the real application (SQLite store, registry next to it) run by uvicorn in a
thread; the CLI reaches it over HTTP with the real DynamoClient. Only the authenticator is a
double: every caller is alice with the user role on the registry.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from starlette.requests import Request
from typer.testing import CliRunner, Result

from dynamo.api.app import create_app
from dynamo.api.security import Principal, Role, Target
from dynamo.cli.main import app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from registry_data import B1, DN, MU_D, ZB_C, ZB_D, registry_ops

runner = CliRunner()
ALICE = Principal(dn=DN, user="alice", grants=frozenset({(Role.USER, Target.REGISTRY)}))
START_TIMEOUT_S = 15.0


class AliceAuthenticator:
    async def principal(self, request: Request) -> Principal:
        return ALICE


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a running server over the registry test inventory."""
    for variable in ("X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY", "DYNAMO_SERVER"):
        monkeypatch.delenv(variable, raising=False)
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/cli.sqlite", upgrade=True)
    store.commit(registry_ops(), InventoryService.load(store).inventory)
    service = InventoryService.load(store)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(service, authenticator=AliceAuthenticator()), log_level="warning"
    )
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]})
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not uvicorn_server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uvicorn_server.started, "the test server did not start"
    yield f"http://127.0.0.1:{port}"
    uvicorn_server.should_exit = True
    thread.join(timeout=START_TIMEOUT_S)
    sock.close()
    store.close()


def dynamo(server: str, *args: str) -> Result:
    return runner.invoke(app, [*args, "--server", server])


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_a_copy_request_is_made_and_repeating_it_bumps_the_count(server: str) -> None:
    made = dynamo(server, "request", "copy", ZB_D, MU_D, "--site", "T2_US_*", "--json")
    first = json_of(made)
    assert (first["status"], first["sites"]) == ("new", ["T2_US_MIT", "T2_US_Purdue"])
    again = dynamo(server, "request", "copy", MU_D, ZB_D, "-s", "T2_US_*")
    assert again.exit_code == 0
    assert f"copy request {first['id']} already open, now asked 2 times" in again.stdout


def test_a_deletion_request_is_polled_by_kind(server: str) -> None:
    assert (
        dynamo(server, "request", "delete", f"{ZB_D}#{B1}", "--site", "T2_CH_CERN").exit_code == 0
    )
    dynamo(server, "request", "copy", ZB_C, "--site", "T2_US_MIT")
    polled = json_of(dynamo(server, "request", "poll", "--kind", "deletion", "--json"))
    assert [(r["kind"], r["items"]) for r in polled] == [("deletion", [f"{ZB_D}#{B1}"])]
    table = dynamo(server, "request", "poll", "--status", "new")
    assert table.exit_code == 0
    assert ZB_C in table.stdout
    assert "T2_CH_CERN" in table.stdout


def test_a_new_request_is_cancelled_once(server: str) -> None:
    made = json_of(dynamo(server, "request", "copy", ZB_C, "--site", "T2_US_MIT", "--json"))
    cancelled = dynamo(server, "request", "cancel", str(made["id"]), "--json")
    assert json_of(cancelled)["status"] == "cancelled"
    again = dynamo(server, "request", "cancel", str(made["id"]))
    assert again.exit_code == 2
    assert "error[conflict]:" in again.stderr
    assert "only a new request can be cancelled" in again.stderr


def test_an_unknown_item_is_an_error_naming_it(server: str) -> None:
    result = dynamo(server, "request", "copy", "/No/Such/AOD", "--site", "T2_US_MIT")
    assert result.exit_code == 2
    assert "error[bad_request]:" in result.stderr
    assert "/No/Such/AOD" in result.stderr
    assert json_of(dynamo(server, "request", "poll", "--json")) == []


def test_a_lock_is_added_listed_and_released(server: str) -> None:
    added = dynamo(
        server, "lock", "add", "/ZeroBias/*", "--site", "T2_US_*", "--expires", "7d", "--json"
    )
    lock = json_of(added)
    assert (lock["item"], lock["sites"], lock["active"]) == ("/ZeroBias/*", "T2_US_*", True)
    listed = json_of(dynamo(server, "lock", "list", "--item", ZB_C, "--json"))
    assert [x["id"] for x in listed] == [lock["id"]]
    table = dynamo(server, "lock", "list")
    assert "/ZeroBias/*" in table.stdout
    assert "active" in table.stdout
    released = dynamo(server, "lock", "release", str(lock["id"]))
    assert released.exit_code == 0
    assert "released" in released.stdout
    assert json_of(dynamo(server, "lock", "list", "--json")) == []
    assert len(json_of(dynamo(server, "lock", "list", "--all", "--json"))) == 1


def test_a_bad_expiry_is_an_error(server: str) -> None:
    result = dynamo(server, "lock", "add", ZB_D, "--expires", "soon")
    assert result.exit_code == 2
    assert "error[bad_request]:" in result.stderr
    assert "bad expiry 'soon'" in result.stderr


def test_an_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = runner.invoke(app, ["lock", "list", "--server", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 2
    assert "cannot reach the Dynamo server" in result.stderr
