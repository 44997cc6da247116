"""The ASGI application: the REST API under /api/v1 (and, later, the web pages)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dynamo import __version__
from dynamo.api.auth.authenticators import RevocationGate, revocations_of
from dynamo.api.errors import ERROR_RESPONSES, document_errors, install_error_handlers
from dynamo.api.limits import DEFAULT_MAX_BODY, BodyLimit
from dynamo.api.listing_cache import ListingFastPath
from dynamo.api.operations import install_operations
from dynamo.api.routes import (
    applications,
    consistency,
    dealer,
    detox,
    inject,
    inventory,
    locks,
    naming,
    popularity,
    replicas,
    requests,
    servers,
    status,
    transfers,
    userdata,
    whoami,
)
from dynamo.api.security import AnonymousAuthenticator, Authenticator
from dynamo.fileops.endpoints import Endpoints
from dynamo.registry import RegistryStore
from dynamo.server.leader import ServerNode
from dynamo.server.scheduler import Scheduler
from dynamo.server.service import InventoryService
from dynamo.storage.tfc import TrivialFileCatalog
from dynamo.store import SqlInventoryStore
from dynamo.store.popularity import popularity_store_for
from dynamo.store.registry import registry_store_for
from dynamo.userdata import UserDataOptions, UserDataService

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(
    service: InventoryService,
    *,
    authenticator: Authenticator | None = None,
    registry: RegistryStore | None = None,
    scheduler: Scheduler | None = None,
    catalogs: Mapping[str, TrivialFileCatalog] | None = None,
    node: ServerNode | None = None,
    endpoints: Endpoints | None = None,
    userdata_options: UserDataOptions | None = None,
    userdata_service: UserDataService | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> FastAPI:
    """The application serving ``service``; callers are identified by ``authenticator``
    (default: everyone anonymous, which allows reads only). ``scheduler``, if given, is started
    and stopped with the application (its lifespan) and serves /applications. ``node``, if
    given, is started and stopped instead: it runs the scheduler only while this server leads
    the servers sharing the database, and writes sent to a follower are redirected.
    ``endpoints`` are the sites' storage, where user data are injected (``userdata_options``),
    by ``userdata_service`` if given (else one is made on the service's database).
    Request bodies over ``max_body`` bytes are refused with 413 before they are read."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if node is not None:
            await node.start()
        elif scheduler is not None:
            await scheduler.start()
        try:
            yield
        finally:
            if node is not None:
                await node.stop()
            elif scheduler is not None:
                await scheduler.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Dynamo",
        version=__version__,
        description="Dynamic data management: inventory, requests, locks, applications.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.service = service
    app.state.catalogs = dict(catalogs or {})
    app.state.authenticator = authenticator or AnonymousAuthenticator()
    # Requests and locks: next to the service's store unless given.
    app.state.registry = registry if registry is not None else registry_store_for(service.store)
    app.state.scheduler = scheduler
    app.state.node = node
    listings = [f"{API_PREFIX}{path}" for path in replicas.CACHED_LISTINGS]
    app.add_middleware(ListingFastPath, paths=listings)  # innermost: inside the request log
    revocations = revocations_of(app.state.authenticator)
    if revocations is not None:  # outside the fast path: no route is open to a revoked chain
        app.add_middleware(RevocationGate, revocations=revocations)
    if node is not None:
        app.add_middleware(servers.FollowerRedirect, node=node)
    app.state.popularity = popularity_store_for(service.store)  # access records, next to it
    store = service.store
    if userdata_service is None and isinstance(store, SqlInventoryStore):
        userdata_service = UserDataService(
            service, store.engine, endpoints or Endpoints(), userdata_options
        )
    app.state.userdata = userdata_service
    install_error_handlers(app)
    document_errors(app)
    # first: routes are matched in order, and jobs' injections are the most frequent calls
    app.include_router(userdata.router, prefix=API_PREFIX)
    app.include_router(status.router, prefix=API_PREFIX)
    app.include_router(inventory.router, prefix=API_PREFIX)
    app.include_router(replicas.router, prefix=API_PREFIX)
    app.include_router(naming.router, prefix=API_PREFIX)
    app.include_router(inject.router, prefix=API_PREFIX)
    app.include_router(whoami.router, prefix=API_PREFIX)
    app.include_router(applications.router, prefix=API_PREFIX)
    app.include_router(requests.router, prefix=API_PREFIX)
    app.include_router(locks.router, prefix=API_PREFIX)
    app.include_router(popularity.router, prefix=API_PREFIX)
    app.include_router(detox.router, prefix=API_PREFIX)
    app.include_router(dealer.router, prefix=API_PREFIX)
    app.include_router(transfers.router, prefix=API_PREFIX)
    app.include_router(consistency.router, prefix=API_PREFIX)
    app.include_router(servers.router, prefix=API_PREFIX)
    install_operations(app)
    app.add_middleware(BodyLimit, limit=max_body)
    return app
