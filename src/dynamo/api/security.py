"""Who is calling, and what they may do: the contract between routes and authentication.

Routes never look at certificates or headers. They declare what they need with
``Depends(require(Target.X, Role.A, Role.B))``; the configured :class:`Authenticator` turns a
request into a :class:`Principal` (a DN and its grants), and :func:`require` answers 401 to an
anonymous caller and 403 (naming the missing role) to one without a matching grant.

Grants are (role, target) pairs as in the original: a user may be ``operator`` on ``registry``
and ``user`` on ``userdata``. ``admin`` on a target implies every other role on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from starlette.requests import Request

from dynamo.errors import DynamoError

__all__ = [
    "ANONYMOUS",
    "AnonymousAuthenticator",
    "Authenticator",
    "ForbiddenError",
    "Principal",
    "Role",
    "Target",
    "UnauthenticatedError",
    "authenticator_of",
    "caller",
    "require",
]


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    USER = "user"


class Target(StrEnum):
    INVENTORY = "inventory"
    REGISTRY = "registry"
    HISTORY = "history"
    APPLICATION = "application"
    USERDATA = "userdata"
    POPULARITY = "popularity"  # feeding access records (POST /popularity/accesses)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated DN (None when anonymous), the user it maps to, and the user's grants."""

    dn: str | None = None
    user: str | None = None
    grants: frozenset[tuple[Role, Target]] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.dn is not None

    def has(self, target: Target, roles: tuple[Role, ...]) -> bool:
        """Whether one of ``roles`` (or admin) is granted on ``target``."""
        return any((role, target) in self.grants for role in (*roles, Role.ADMIN))


ANONYMOUS = Principal()


class UnauthenticatedError(DynamoError, PermissionError):
    """The request carries no identity and the resource needs one (HTTP 401)."""

    code = "unauthenticated"


class ForbiddenError(DynamoError, PermissionError):
    """The identity lacks the role the resource needs (HTTP 403)."""

    code = "forbidden"


class Authenticator(Protocol):
    """Turns a request into a Principal (from its TLS client certificate, a trusted header...)."""

    async def principal(self, request: Request) -> Principal:
        """The caller of ``request``; ANONYMOUS when it carries no identity."""
        ...


class AnonymousAuthenticator:
    """Everybody is anonymous: read-only access (plain HTTP on loopback, tests of reads)."""

    async def principal(self, request: Request) -> Principal:
        return ANONYMOUS


def authenticator_of(request: Request) -> Authenticator:
    found: Authenticator = request.app.state.authenticator
    return found


def require(target: Target, *roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the caller, who must hold one of ``roles`` (or admin) on ``target``."""
    wanted = roles or (Role.USER, Role.OPERATOR)

    async def dependency(request: Request) -> Principal:
        principal = await caller(request)
        if not principal.is_authenticated:
            raise UnauthenticatedError(
                f"this needs an identity (a client certificate) with role "
                f"{' or '.join(wanted)} on {target}"
            )
        if not principal.has(target, wanted):
            raise ForbiddenError(
                f"{principal.dn} lacks role {' or '.join(wanted)} on target {target}"
            )
        return principal

    return dependency


async def caller(request: Request) -> Principal:
    """A FastAPI dependency for public routes: the caller, possibly anonymous (kept on the
    request's state for the access log)."""
    principal = await authenticator_of(request).principal(request)
    request.state.principal = principal
    return principal
