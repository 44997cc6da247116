"""`dynamo admin user add|grant|revoke|list` on a SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dynamo.api.auth import SqlUserDirectory
from dynamo.api.security import Role, Target
from dynamo.cli.main import app
from dynamo.store import make_engine, migrate

runner = CliRunner()
ALICE = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=alice/CN=100/CN=Alice Tester"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'admin.sqlite'}"
    migrate(url)
    return url


def _admin(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["admin", "user", *args])
    return result.exit_code, result.output


def test_added_and_granted_users_are_listed_as_json(db: str) -> None:
    assert _admin("add", "alice", "--dn", ALICE, "--db", db)[0] == 0
    assert _admin("grant", "alice", "operator", "inventory", "--db", db)[0] == 0
    assert _admin("grant", "alice", "user", "userdata", "--db", db)[0] == 0
    code, output = _admin("list", "--json", "--db", db)
    assert code == 0
    (user,) = json.loads(output)
    assert (user["name"], user["dn"]) == ("alice", ALICE)
    assert user["grants"] == [
        {"role": "operator", "target": "inventory"},
        {"role": "user", "target": "userdata"},
    ]


def test_the_commands_change_what_the_directory_answers(db: str) -> None:
    _admin("add", "alice", "--dn", ALICE, "--db", db)
    _admin("grant", "alice", "admin", "registry", "--db", db)
    _admin("grant", "alice", "user", "history", "--db", db)
    code, output = _admin("revoke", "alice", "user", "history", "--db", db)
    assert code == 0
    assert "no longer has role user on history" in output
    engine = make_engine(db)
    try:
        principal = SqlUserDirectory(engine).principal_for(ALICE)
    finally:
        engine.dispose()
    assert principal.grants == {(Role.ADMIN, Target.REGISTRY)}


def test_the_database_comes_from_dynamo_db_too(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMO_DB", db)
    assert _admin("add", "alice", "--dn", ALICE)[0] == 0
    code, output = _admin("list")
    assert code == 0
    assert "alice" in output


def test_adding_a_user_twice_fails_with_the_conflict_code(db: str) -> None:
    _admin("add", "alice", "--dn", ALICE, "--db", db)
    code, output = _admin("add", "alice", "--dn", "/CN=other", "--db", db)
    assert code != 0
    assert "error[conflict]" in output


def test_granting_to_an_unknown_user_fails_with_not_found(db: str) -> None:
    code, output = _admin("grant", "nobody", "admin", "inventory", "--db", db)
    assert code != 0
    assert "error[not_found]" in output


def test_an_unknown_role_is_refused_before_touching_the_database(db: str) -> None:
    code, output = _admin("grant", "alice", "boss", "inventory", "--db", db)
    assert code == 2
    assert "boss" in output


def test_a_database_that_was_never_migrated_says_to_upgrade(tmp_path: Path) -> None:
    code, output = _admin("list", "--db", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert code != 0
    assert "dynamo db upgrade" in output


def test_remove_takes_the_user_and_their_grants_away(db: str) -> None:
    _admin("add", "alice", "--dn", ALICE, "--db", db)
    _admin("grant", "alice", "operator", "inventory", "--db", db)
    code, output = _admin("remove", "alice", "--db", db)
    assert (code, "removed user alice" in output) == (0, True)
    assert json.loads(_admin("list", "--json", "--db", db)[1]) == []
    code, output = _admin("remove", "alice", "--db", db)
    assert code != 0
    assert "no user named 'alice'" in output
