"""An API over a small real inventory in a SQLite store, called through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.api.security import Authenticator
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore

from ..model.conftest import base_ops


@pytest.fixture
def service(tmp_path: Path) -> InventoryService:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/api.sqlite", upgrade=True)
    loaded = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), loaded.inventory)
    return InventoryService.load(store, partition_compiler=toy_compiler)


@pytest.fixture
def authenticator() -> Authenticator:
    return HeaderTestAuthenticator()


OPERATOR = {"x-test-dn": "/DC=ch/DC=cern/CN=Operator", "x-test-grants": "operator:inventory"}
READER = {"x-test-dn": "/DC=ch/DC=cern/CN=Reader", "x-test-grants": "user:registry"}


@pytest.fixture
async def client(
    service: InventoryService, authenticator: Authenticator
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service, authenticator=authenticator)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
