"""FastAPI dependencies shared by the routes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BeforeValidator
from sqlalchemy import Engine
from starlette.requests import Request

from dynamo.errors import NotFoundError
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore

__all__ = ["IntParam", "Service", "database_of", "engine_or_none", "service_of"]


def service_of(request: Request) -> InventoryService:
    """The inventory service of the application handling ``request``."""
    found: InventoryService = request.app.state.service
    return found


async def _service(request: Request) -> InventoryService:
    return service_of(request)


Service = Annotated[InventoryService, Depends(_service)]
"""A route parameter receiving the inventory service.

Dependencies are coroutines, here and in the routes: FastAPI runs a plain function dependency
in its thread pool, which costs every request a round trip to a worker thread (more than the
rest of a cached listing's handling) and would read the image off the event loop thread."""


def engine_or_none(service: InventoryService) -> Engine | None:
    """The database of the service's inventory (None: the inventory is in memory)."""
    store = service.store
    return store.engine if isinstance(store, SqlInventoryStore) else None


def database_of(what: str) -> Callable[[InventoryService], Awaitable[Engine]]:
    """A dependency giving the inventory's database, where ``what`` (history, queues, reports)
    is kept; a server whose inventory is not in a database has none of it (404)."""

    async def engine_of(service: Service) -> Engine:
        engine = engine_or_none(service)
        if engine is None:
            raise NotFoundError(f"this server keeps no {what} (its inventory is not in a database)")
        return engine

    return engine_of


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _integer_text(value: Any) -> Any:
    """Refuse query and path text that is not an integer as written (pydantic's lax mode would
    take ``60.0`` or ``1_000`` for an int; the documented type says digits)."""
    if isinstance(value, str) and not _INTEGER.fullmatch(value):
        raise ValueError("not an integer")
    return value


IntParam = Annotated[int, BeforeValidator(_integer_text)]
"""An integer query or path parameter: digits only, as the OpenAPI type promises."""
