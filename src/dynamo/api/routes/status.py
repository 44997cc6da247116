"""GET /status: what the server holds and since when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from dynamo import __version__
from dynamo.api.deps import Service
from dynamo.api.security import Principal, caller

router = APIRouter(tags=["status"])


class Status(BaseModel):
    version: str
    log_seq: int
    loaded_at: float
    counts: dict[str, int]
    caller_dn: str | None


@router.get("/status", response_model=Status)
async def get_status(
    service: Service,
    principal: Annotated[Principal, Depends(caller)],
) -> Status:
    """The server's version, the log sequence number of its image and the object counts."""
    return Status(
        version=__version__,
        log_seq=service.seq,
        loaded_at=service.loaded_at,
        counts=service.inventory.counts(),
        caller_dn=principal.dn,
    )
