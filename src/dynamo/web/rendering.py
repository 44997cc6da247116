"""What every page module shares: the templates with their filters, and small helpers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.requests import Request

from dynamo import __version__
from dynamo.api.deps import engine_or_none, service_of
from dynamo.server.service import InventoryService
from dynamo.web import views

__all__ = ["HERE", "database", "missing", "page", "service", "templates"]

HERE: Final = Path(__file__).parent

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["bytes"] = views.human_bytes
templates.env.filters["percent"] = views.percent
templates.env.filters["when"] = lambda t: (
    "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
)
templates.env.globals["version"] = __version__


def service(request: Request) -> InventoryService:
    """The inventory service of the application serving ``request``."""
    return service_of(request)


def database(request: Request) -> Engine | None:
    """The database holding history, queues and reports (None: the inventory is in memory)."""
    return engine_or_none(service_of(request))


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The template ``name`` rendered with ``context``."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def missing(request: Request, what: str) -> HTMLResponse:
    """The 404 page: there is no ``what``."""
    return page(request, "missing.html", status_code=404, what=what)
