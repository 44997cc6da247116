"""GET /whoami: who the server thinks the caller is (public; anonymous callers are told so)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from dynamo.api.security import Principal, caller

__all__ = ["Grant", "Identity", "router"]

router = APIRouter(tags=["security"])


class Grant(BaseModel):
    role: str
    target: str


class Identity(BaseModel):
    authenticated: bool
    dn: str | None
    user: str | None
    grants: list[Grant]


@router.get("/whoami", response_model=Identity)
async def whoami(principal: Annotated[Principal, Depends(caller)]) -> Identity:
    """The caller's DN (a proxy's owner), the user it maps to (None if the DN is not
    registered) and the user's grants, sorted by target then role."""
    grants = sorted(principal.grants, key=lambda grant: (grant[1].value, grant[0].value))
    return Identity(
        authenticated=principal.is_authenticated,
        dn=principal.dn,
        user=principal.user,
        grants=[Grant(role=role.value, target=target.value) for role, target in grants],
    )
