"""The registry routes over a small SQLite inventory, with header identities and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from doubles import HeaderTestAuthenticator
from dynamo.api.app import create_app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from registry_data import DN, OTHER_DN, registry_ops

NOW = 1_700_000_000


def as_caller(dn: str, *grants: str) -> dict[str, str]:
    """Headers making the test authenticator see ``dn`` with ``grants`` (role:target)."""
    return {"X-Test-DN": dn, "X-Test-Grants": ",".join(grants)}


ALICE = as_caller(DN, "user:registry")
BOB = as_caller(OTHER_DN, "user:registry")
OPERATOR = as_caller("/CN=operator", "operator:registry")
ADMIN = as_caller("/CN=admin", "admin:registry")
NO_ROLE = as_caller("/CN=nobody", "operator:inventory")


@dataclass
class FakeClock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service(tmp_path: Path) -> InventoryService:
    store = SqlInventoryStore.open(f"sqlite:///{tmp_path}/registry.sqlite", upgrade=True)
    empty = InventoryService.load(store)
    store.commit(registry_ops(), empty.inventory)
    return InventoryService.load(store)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(service: InventoryService, clock: FakeClock) -> FastAPI:
    made = create_app(service, authenticator=HeaderTestAuthenticator())
    made.state.clock = clock
    return made


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
