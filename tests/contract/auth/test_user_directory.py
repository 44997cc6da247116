"""One contract for every UserDirectory: memory, SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import Engine

from dynamo.api.auth import (
    InvalidDnError,
    InvalidUserError,
    MemoryUserDirectory,
    SqlUserDirectory,
    UnknownUserError,
    UserDirectory,
    UserExistsError,
)
from dynamo.api.security import Principal, Role, Target
from dynamo.store import make_engine, migrate

ALICE = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=alice/CN=100/CN=Alice Tester"
BOB = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=bob/CN=101/CN=Bob Tester"


class Clock:
    """A hand-driven clock (seconds)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine_factory(
    database_url_factory: Callable[[str], str],
) -> Iterator[Callable[[str], Engine]]:
    engines: list[Engine] = []

    def make(backend: str) -> Engine:
        url = database_url_factory(backend)
        migrate(url)
        engines.append(make_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def directory(
    request: pytest.FixtureRequest, engine_factory: Callable[[str], Engine], clock: Clock
) -> UserDirectory:
    if request.param == "memory":
        return MemoryUserDirectory(now=clock)
    return SqlUserDirectory(engine_factory(str(request.param)), clock=clock, now=clock)


def test_a_new_user_has_a_normalised_dn_and_no_grants(directory: UserDirectory) -> None:
    comma = "CN=Alice Tester,CN=100,CN=alice,OU=Users,OU=Organic Units,DC=cern,DC=ch"
    user = directory.add_user("alice", comma)
    assert (user.name, user.dn, user.grants) == ("alice", ALICE, frozenset())
    assert user.created == 1_700_000_000
    assert directory.list_users() == [user]


def test_names_and_dns_are_unique(directory: UserDirectory) -> None:
    directory.add_user("alice", ALICE)
    with pytest.raises(UserExistsError):
        directory.add_user("alice", BOB)
    with pytest.raises(UserExistsError):
        directory.add_user("alice2", ALICE)


@pytest.mark.parametrize("name", ["", " alice", "x" * 65])
def test_a_bad_user_name_is_refused(directory: UserDirectory, name: str) -> None:
    with pytest.raises(InvalidUserError):
        directory.add_user(name, ALICE)


def test_a_bad_dn_is_refused(directory: UserDirectory) -> None:
    with pytest.raises(InvalidDnError):
        directory.add_user("alice", "no dn here")


def test_grants_accumulate_and_revoking_removes_one(directory: UserDirectory) -> None:
    directory.add_user("alice", ALICE)
    assert directory.grant("alice", Role.OPERATOR, Target.INVENTORY)
    assert directory.grant("alice", Role.USER, Target.USERDATA)
    assert not directory.grant("alice", Role.OPERATOR, Target.INVENTORY)
    assert directory.revoke("alice", Role.USER, Target.USERDATA)
    assert not directory.revoke("alice", Role.USER, Target.USERDATA)
    (user,) = directory.list_users()
    assert user.grants == {(Role.OPERATOR, Target.INVENTORY)}


def test_granting_to_an_unknown_user_says_so(directory: UserDirectory) -> None:
    with pytest.raises(UnknownUserError, match="nobody"):
        directory.grant("nobody", Role.ADMIN, Target.INVENTORY)
    with pytest.raises(UnknownUserError, match="nobody"):
        directory.revoke("nobody", Role.ADMIN, Target.INVENTORY)


def test_the_principal_of_a_dn_carries_the_user_and_the_grants(
    directory: UserDirectory,
) -> None:
    directory.add_user("alice", ALICE)
    directory.grant("alice", Role.ADMIN, Target.REGISTRY)
    principal = directory.principal_for(ALICE)
    assert principal == Principal(
        dn=ALICE, user="alice", grants=frozenset({(Role.ADMIN, Target.REGISTRY)})
    )
    assert principal.has(Target.REGISTRY, (Role.OPERATOR,))
    assert not principal.has(Target.INVENTORY, (Role.OPERATOR,))


def test_an_unknown_dn_is_authenticated_without_grants(directory: UserDirectory) -> None:
    principal = directory.principal_for(BOB)
    assert principal.is_authenticated
    assert (principal.dn, principal.user, principal.grants) == (BOB, None, frozenset())


def test_the_directory_sees_its_own_changes_at_once(directory: UserDirectory) -> None:
    directory.add_user("alice", ALICE)
    assert directory.principal_for(ALICE).grants == frozenset()
    directory.grant("alice", Role.USER, Target.HISTORY)
    assert directory.principal_for(ALICE).grants == {(Role.USER, Target.HISTORY)}
    directory.revoke("alice", Role.USER, Target.HISTORY)
    assert directory.principal_for(ALICE).grants == frozenset()


def test_a_removed_user_loses_their_grants_and_their_dn_is_unknown(
    directory: UserDirectory,
) -> None:
    directory.add_user("alice", ALICE)
    directory.grant("alice", Role.OPERATOR, Target.INVENTORY)
    directory.add_user("bob", BOB)
    removed = directory.remove_user("alice")
    assert removed.name == "alice"
    assert removed.grants == {(Role.OPERATOR, Target.INVENTORY)}
    assert [user.name for user in directory.list_users()] == ["bob"]
    assert directory.principal_for(ALICE) == Principal(dn=ALICE)
    with pytest.raises(UnknownUserError, match="alice"):
        directory.remove_user("alice")
    directory.add_user("alice", ALICE)
    assert directory.principal_for(ALICE).grants == frozenset()


def test_users_are_listed_by_name(directory: UserDirectory) -> None:
    directory.add_user("bob", BOB)
    directory.add_user("alice", ALICE)
    assert [user.name for user in directory.list_users()] == ["alice", "bob"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_changes_made_by_another_process_are_seen_after_the_ttl(
    backend: str, engine_factory: Callable[[str], Engine], clock: Clock
) -> None:
    engine = engine_factory(backend)
    server = SqlUserDirectory(engine, ttl=10.0, clock=clock)
    admin = SqlUserDirectory(engine)
    admin.add_user("alice", ALICE)
    assert server.principal_for(ALICE).user == "alice"
    admin.grant("alice", Role.OPERATOR, Target.APPLICATION)
    assert server.principal_for(ALICE).grants == frozenset()
    clock.now += 10.0
    assert server.principal_for(ALICE).grants == {(Role.OPERATOR, Target.APPLICATION)}
