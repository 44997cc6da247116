"""Test doubles shared by the test layers (importable as ``doubles``: pytest puts tests/ on
the path).

``toy_compiler`` stands in for the policy language where a test is about the model or the
store, so those tests do not depend on the language: conditions are ``owner == NAME`` and
``storage == DISK|MSS``, joined by `` and ``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from dynamo.api.security import ANONYMOUS, Principal, Role, Target
from dynamo.model import BlockReplica, PartitionScope, StorageType

__all__ = ["HeaderTestAuthenticator", "toy_compiler"]


def toy_compiler(text: str) -> tuple[Callable[[BlockReplica], bool], PartitionScope]:
    """Compile a toy partition condition; ValueError for anything else."""
    checks: list[Callable[[BlockReplica], bool]] = []
    scope = PartitionScope.CONSTANT
    for part in text.split(" and "):
        key, _, value = (token.strip() for token in part.partition("=="))
        if key == "owner":
            owner = None if value == "None" else value
            checks.append(lambda br, owner=owner: br.group.name == owner)
            scope |= PartitionScope.OWNER
        elif key == "storage":
            kind = StorageType[value]
            checks.append(lambda br, kind=kind: br.site.storage_type is kind)
            scope |= PartitionScope.SITE
        else:
            raise ValueError(f"toy compiler: unknown variable {key!r}")
    return (lambda br: all(check(br) for check in checks)), scope


class HeaderTestAuthenticator:
    """A test double of the x509 authenticator: identity and grants from test-only headers.

    ``X-Test-DN: /CN=someone`` and ``X-Test-Grants: operator:inventory,user:registry``. Never
    used outside tests (the server wires the real authenticators).
    """

    async def principal(self, request: Request) -> Principal:
        dn = request.headers.get("x-test-dn")
        if dn is None:
            return ANONYMOUS
        grants = set()
        for grant in filter(None, request.headers.get("x-test-grants", "").split(",")):
            role, _, target = grant.partition(":")
            grants.add((Role(role), Target(target)))
        return Principal(dn=dn, user=dn.rsplit("=", 1)[-1], grants=frozenset(grants))
