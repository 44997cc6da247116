"""The ASGI application: the REST API under /api/v1 (and, later, the web pages)."""

from __future__ import annotations

from fastapi import FastAPI

from dynamo import __version__
from dynamo.api.errors import ERROR_RESPONSES, document_errors, install_error_handlers
from dynamo.api.routes import inject, inventory, replicas, status, whoami
from dynamo.api.security import AnonymousAuthenticator, Authenticator
from dynamo.server.service import InventoryService

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(service: InventoryService, *, authenticator: Authenticator | None = None) -> FastAPI:
    """The application serving ``service``; callers are identified by ``authenticator``
    (default: everyone anonymous, which allows reads only)."""
    app = FastAPI(
        title="Dynamo",
        version=__version__,
        description="Dynamic data management: inventory, requests, locks, applications.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.service = service
    app.state.authenticator = authenticator or AnonymousAuthenticator()
    install_error_handlers(app)
    document_errors(app)
    app.include_router(status.router, prefix=API_PREFIX)
    app.include_router(inventory.router, prefix=API_PREFIX)
    app.include_router(replicas.router, prefix=API_PREFIX)
    app.include_router(inject.router, prefix=API_PREFIX)
    app.include_router(whoami.router, prefix=API_PREFIX)
    return app
