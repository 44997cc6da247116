"""Every dependency of every route is a coroutine function.

FastAPI runs a plain function dependency in its thread pool: a round trip to a worker thread
on every request (it cost a cached listing more than the rest of its handling), and a read of
the image off the event loop thread, against the service's concurrency contract.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import dynamo.api.routes
from dynamo.api import operations
from dynamo.web import pages


def _routers() -> Iterator[APIRouter]:
    for module in pkgutil.iter_modules(dynamo.api.routes.__path__):
        found = getattr(importlib.import_module(f"dynamo.api.routes.{module.name}"), "router", None)
        if isinstance(found, APIRouter):
            yield found
    yield operations._router()
    yield pages.router


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def test_no_route_dependency_runs_in_the_thread_pool() -> None:
    """Function dependencies are coroutines. A class dependency (a query's parameters as one
    dataclass) is constructed in the thread pool too: only the database-backed /transfers and
    /deletions, whose queries go to a thread anyway, take one."""
    routes = [r for router in _routers() for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 40
    calls = [(route.path, call) for route in routes for call in _calls(route.dependant)]
    plain = {
        f"{path}: {getattr(call, '__qualname__', call)}"
        for path, call in calls
        if not inspect.isclass(call) and not inspect.iscoroutinefunction(call)
    }
    assert plain == set()
    classes = {path for path, call in calls if inspect.isclass(call)}
    assert classes == {"/transfers", "/deletions"}
