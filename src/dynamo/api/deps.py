"""FastAPI dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from dynamo.server.service import InventoryService

__all__ = ["Service", "service_of"]


def service_of(request: Request) -> InventoryService:
    """The inventory service of the application handling ``request``."""
    found: InventoryService = request.app.state.service
    return found


Service = Annotated[InventoryService, Depends(service_of)]
"""A route parameter receiving the inventory service."""
