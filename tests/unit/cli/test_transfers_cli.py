"""`dynamo transfers ...` against a SQLite database (--db) and a real server (--server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.requests import Request
from typer.testing import CliRunner, Result

from dynamo.api.app import create_app
from dynamo.api.security import Principal, Role, Target
from dynamo.bench.serving import ThreadServer
from dynamo.cli.main import app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from fileops_data import (
    B1,
    B2,
    DS,
    DST,
    GROUP,
    NOW,
    SRC,
    add_batch_task,
    add_history,
    add_subscription,
    base_ops,
    lfn,
    subscription_rows,
)

runner = CliRunner()


class EveryoneIsOperator:
    async def principal(self, request: Request) -> Principal:
        return Principal(dn="/CN=op", grants=frozenset({(Role.OPERATOR, Target.INVENTORY)}))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqlInventoryStore]:
    for variable in ("X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY", "DYNAMO_SERVER"):
        monkeypatch.delenv(variable, raising=False)
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/cli.sqlite", upgrade=True)
    store.commit(base_ops(), store.load()[0])
    yield store
    store.close()


@pytest.fixture
def db(store: SqlInventoryStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def server(store: SqlInventoryStore) -> Iterator[str]:
    api = create_app(InventoryService.load(store), authenticator=EveryoneIsOperator())
    with ThreadServer(api) as url:
        yield url


def dynamo(*args: str) -> Result:
    return runner.invoke(app, ["transfers", *args])


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


@pytest.mark.parametrize("target", ["db", "server"])
def test_ls_lists_current_held_and_history_as_json(
    target: str, request: pytest.FixtureRequest, store: SqlInventoryStore
) -> None:
    where = ["--db" if target == "db" else "--server", request.getfixturevalue(target)]
    current = add_subscription(store.engine, index=0, status="inbatch")
    add_batch_task(store.engine, current)
    held = add_subscription(store.engine, index=1, status="held", hold_reason="no_source")
    add_history(store.engine, finished=NOW - 10, name=lfn(DS, B1, 2))
    [entry] = json_of(dynamo("ls", *where, "--json"))["items"]
    assert (entry["id"], entry["task_status"], entry["source_site"]) == (current, "active", SRC)
    [entry] = json_of(dynamo("ls", "--held", *where, "--json"))["items"]
    assert (entry["id"], entry["hold_reason"]) == (held, "no_source")
    [entry] = json_of(dynamo("ls", "--history", "--site", DST, *where, "--json"))["items"]
    assert entry["lfn"] == lfn(DS, B1, 2)
    assert json_of(dynamo("ls", "--deletions", *where, "--json"))["items"] == []


def test_ls_prints_tables(db: str, store: SqlInventoryStore) -> None:
    add_subscription(store.engine, index=0, status="held", hold_reason="all_failed")
    add_history(store.engine, finished=NOW - 10, size=123_456, name=lfn(DS, B1, 2))
    held = dynamo("ls", "--held", "--db", db)
    assert held.exit_code == 0, held.output
    assert "held (all_failed)" in held.output
    assert lfn(DS, B1, 0) in held.output
    past = dynamo("ls", "--history", "--db", db)
    assert "123,456" in past.output
    assert "2023-11-14" in past.output


@pytest.mark.parametrize("target", ["db", "server"])
def test_release_and_cancel_change_the_queue(
    target: str, request: pytest.FixtureRequest, store: SqlInventoryStore
) -> None:
    where = ["--db" if target == "db" else "--server", request.getfixturevalue(target)]
    held = add_subscription(store.engine, index=0, status="held", hold_reason="all_failed")
    pending = add_subscription(store.engine, index=1)
    released = dynamo("release", "--site", DST, "--reason", "all_failed", *where, "--json")
    assert json_of(released) == {"released": 1}
    assert json_of(dynamo("cancel", str(pending), *where, "--json")) == {"cancelled": 1}
    assert subscription_rows(store.engine, ("id", "status")) == {
        (held, "new"),
        (pending, "cancelled"),
    }
    sentence = dynamo("cancel", "--dataset", DS, *where)
    assert "1 subscriptions cancelled" in sentence.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["cancel", "--db", "x.db", "--server", "http://127.0.0.1:1", "1"], "not both"),
        (["ls", "--held", "--history", "--db", "x.db"], "not both"),
        (["release", "--reason", "no_source"], "select subscriptions"),
    ],
)
def test_bad_options_are_reported(db: str, arguments: list[str], message: str) -> None:
    if "--db" not in arguments:
        arguments = [*arguments, "--db", db]
    result = dynamo(*arguments)
    assert result.exit_code == 2
    assert message in result.output


def test_rates_sum_the_history_per_link(db: str, store: SqlInventoryStore) -> None:
    import time

    add_history(store.engine, size=7200, finished=int(time.time()) - 5)
    [rate] = json_of(dynamo("rates", "--db", db, "--json"))
    assert (rate["source_site"], rate["site"], rate["bytes_done"]) == (SRC, DST, 7200)
    table = dynamo("rates", "--db", db)
    assert "transfer rates over 3600 s" in table.output


def test_update_folds_done_transfers_and_a_dry_run_does_not(
    db: str, store: SqlInventoryStore
) -> None:
    for index in range(2):
        add_subscription(store.engine, block=B2, index=index, status="done")
    planned = json_of(dynamo("update", "--db", db, "--dry-run", "--json"))
    assert (planned["dry_run"], planned["block_replicas_updated"]) == (True, 1)
    assert len(subscription_rows(store.engine)) == 2
    done = json_of(dynamo("update", "--db", db, "--default-group", GROUP, "--json"))
    assert done["seq"] is not None
    assert subscription_rows(store.engine) == set()
    replica = store.load()[0].find_block_replica(DS, B2, DST)
    assert replica is not None
    assert replica.group.name == GROUP
    again = dynamo("update", "--db", db)
    assert "block replicas updated 0" in again.output
