"""Who the users are and what they may do: the :class:`UserDirectory` port and its adapters.

A user is a name and a DN (canonical slash form, see :mod:`dynamo.api.auth.dn`); a grant is a
(role, target) pair. ``principal_for(dn)`` is called on every authenticated request, so the
adapters answer it from a dict: :class:`MemoryUserDirectory` keeps everything in memory,
:class:`SqlUserDirectory` reads the two small tables (``users``, ``user_roles``) in one go and
keeps the result for ``ttl`` seconds (its own writes refresh it at once; writes made by another
process, such as ``dynamo admin user grant``, are seen within ``ttl``).

An unknown DN is authenticated (the certificate was verified) but holds no grant: routes that
need a role answer 403. Both adapters pass one contract suite (``tests/contract/auth``).

The directory lives in ``dynamo.api`` (not ``dynamo.server``) because it answers with the API's
:class:`~dynamo.api.security.Principal`, and the server layer may not import the API.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from dynamo.api.auth.dn import normalize_dn
from dynamo.api.security import Principal, Role, Target
from dynamo.errors import DynamoError, NotFoundError, StoreError
from dynamo.store.schema.auth import user_roles, users

__all__ = [
    "DEFAULT_TTL",
    "InvalidUserError",
    "MemoryUserDirectory",
    "SqlUserDirectory",
    "UnknownUserError",
    "User",
    "UserDirectory",
    "UserExistsError",
]

DEFAULT_TTL = 10.0
"""Seconds a SqlUserDirectory trusts its copy of the grants."""

Grant = tuple[Role, Target]


class UnknownUserError(NotFoundError):
    """No user has this name."""


class InvalidUserError(DynamoError, ValueError):
    """A user name or DN that cannot be stored."""

    code = "bad_request"


class UserExistsError(DynamoError, ValueError):
    """A user with this name or DN exists already."""

    code = "conflict"


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A user: unique name, unique DN (slash form), creation time (epoch s), grants."""

    name: str
    dn: str
    created: int
    grants: frozenset[Grant] = field(default_factory=frozenset)

    @property
    def principal(self) -> Principal:
        return Principal(dn=self.dn, user=self.name, grants=self.grants)


class UserDirectory(Protocol):
    """Users by DN and their grants. Names and DNs are unique; DNs are normalised on entry."""

    def add_user(self, name: str, dn: str) -> User:
        """Add a user without grants; UserExistsError if the name or the DN is taken."""
        ...

    def grant(self, name: str, role: Role, target: Target) -> bool:
        """Grant ``role`` on ``target``; False if it was granted already. UnknownUserError."""
        ...

    def revoke(self, name: str, role: Role, target: Target) -> bool:
        """Revoke ``role`` on ``target``; False if it was not granted. UnknownUserError."""
        ...

    def remove_user(self, name: str) -> User:
        """Remove a user and their grants (their DN becomes unknown: no grant, 403 on
        protected routes); the user as it was. UnknownUserError."""
        ...

    def list_users(self) -> list[User]:
        """Every user with their grants, sorted by name."""
        ...

    def principal_for(self, dn: str) -> Principal:
        """The principal of ``dn`` (slash form): its user and grants, or no grants if unknown."""
        ...


def _check_name(name: str) -> str:
    if not name or len(name) > 64 or name != name.strip():
        raise InvalidUserError(f"a user name has 1 to 64 characters, no outer spaces: {name!r}")
    return name


def _check_dn(dn: str) -> str:
    normalized = normalize_dn(dn)
    if len(normalized) > 512:
        raise InvalidUserError(f"a DN has at most 512 characters: {normalized[:60]}...")
    return normalized


class MemoryUserDirectory:
    """The in-memory directory (tests, dry runs, a server without a database)."""

    def __init__(self, *, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._users: dict[str, User] = {}
        self._by_dn: dict[str, Principal] = {}

    def add_user(self, name: str, dn: str) -> User:
        name, dn = _check_name(name), _check_dn(dn)
        if name in self._users or dn in self._by_dn:
            raise UserExistsError(f"a user named {name!r} or with DN {dn} exists already")
        user = User(name=name, dn=dn, created=int(self._now()))
        self._store(user)
        return user

    def grant(self, name: str, role: Role, target: Target) -> bool:
        user = self._user(name)
        if (role, target) in user.grants:
            return False
        self._store(
            User(name=name, dn=user.dn, created=user.created, grants=user.grants | {(role, target)})
        )
        return True

    def revoke(self, name: str, role: Role, target: Target) -> bool:
        user = self._user(name)
        if (role, target) not in user.grants:
            return False
        self._store(
            User(name=name, dn=user.dn, created=user.created, grants=user.grants - {(role, target)})
        )
        return True

    def remove_user(self, name: str) -> User:
        user = self._user(name)
        del self._users[name]
        del self._by_dn[user.dn]
        return user

    def list_users(self) -> list[User]:
        return [self._users[name] for name in sorted(self._users)]

    def principal_for(self, dn: str) -> Principal:
        return self._by_dn.get(dn) or Principal(dn=dn)

    def _user(self, name: str) -> User:
        try:
            return self._users[name]
        except KeyError:
            raise UnknownUserError(f"no user named {name!r}") from None

    def _store(self, user: User) -> None:
        self._users[user.name] = user
        self._by_dn[user.dn] = user.principal


class SqlUserDirectory:
    """The directory in the store's database (tables ``users`` and ``user_roles``).

    ``principal_for`` answers from a copy of both tables taken at most ``ttl`` seconds ago
    (``clock`` is monotonic seconds); the first call after expiry reloads them in one query each.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self._ttl = ttl
        self._clock = clock
        self._now = now
        self._by_dn: dict[str, Principal] = {}
        self._expires = float("-inf")

    def add_user(self, name: str, dn: str) -> User:
        name, dn = _check_name(name), _check_dn(dn)
        created = int(self._now())
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(users).values(name=name, dn=dn, created=created))
        except IntegrityError as exc:
            raise UserExistsError(f"a user named {name!r} or with DN {dn} exists already") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot add user {name!r}: {exc}") from exc
        self._expires = float("-inf")
        return User(name=name, dn=dn, created=created)

    def grant(self, name: str, role: Role, target: Target) -> bool:
        def change(conn: Connection, user_id: int, granted: bool) -> bool:
            if granted:
                return False
            conn.execute(insert(user_roles).values(user_id=user_id, role=role, target=target))
            return True

        return self._change(name, role, target, change)

    def revoke(self, name: str, role: Role, target: Target) -> bool:
        def change(conn: Connection, user_id: int, granted: bool) -> bool:
            if not granted:
                return False
            conn.execute(
                delete(user_roles).where(
                    user_roles.c.user_id == user_id,
                    user_roles.c.role == role.value,
                    user_roles.c.target == target.value,
                )
            )
            return True

        return self._change(name, role, target, change)

    def remove_user(self, name: str) -> User:
        # The grants are deleted explicitly: SQLite enforces ON DELETE CASCADE only when
        # foreign keys are switched on.
        try:
            with self.engine.begin() as conn:
                user_id = self._user_id(conn, name)
                (user,) = (u for u in self._read_users(conn) if u.name == name)
                conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
                conn.execute(delete(users).where(users.c.id == user_id))
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot remove user {name!r}: {exc}") from exc
        self._expires = float("-inf")
        return user

    def list_users(self) -> list[User]:
        with self._connection() as conn:
            return sorted(self._read_users(conn), key=lambda user: user.name)

    def principal_for(self, dn: str) -> Principal:
        if self._clock() >= self._expires:
            with self._connection() as conn:
                self._by_dn = {user.dn: user.principal for user in self._read_users(conn)}
            self._expires = self._clock() + self._ttl
        return self._by_dn.get(dn) or Principal(dn=dn)

    def _change(
        self,
        name: str,
        role: Role,
        target: Target,
        change: Callable[[Connection, int, bool], bool],
    ) -> bool:
        role, target = Role(role), Target(target)
        try:
            with self.engine.begin() as conn:
                user_id = self._user_id(conn, name)
                granted = conn.execute(
                    select(user_roles.c.role).where(
                        user_roles.c.user_id == user_id,
                        user_roles.c.role == role.value,
                        user_roles.c.target == target.value,
                    )
                ).first()
                changed = change(conn, user_id, granted is not None)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot change the grants of {name!r}: {exc}") from exc
        self._expires = float("-inf")
        return changed

    @staticmethod
    def _user_id(conn: Connection, name: str) -> int:
        # Compared again in Python: MariaDB's default collation ignores case.
        rows = conn.execute(select(users.c.id, users.c.name).where(users.c.name == name))
        for user_id, found in rows:
            if found == name:
                return int(user_id)
        raise UnknownUserError(f"no user named {name!r}")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot read the users: {exc}") from exc

    @staticmethod
    def _read_users(conn: Connection) -> list[User]:
        grants: dict[int, set[Grant]] = {}
        for user_id, role, target in conn.execute(select(user_roles)):
            grants.setdefault(user_id, set()).add((Role(role), Target(target)))
        rows = conn.execute(select(users.c.id, users.c.name, users.c.dn, users.c.created))
        return [
            User(name=name, dn=dn, created=int(created), grants=frozenset(grants.get(user_id, ())))
            for user_id, name, dn, created in rows
        ]
