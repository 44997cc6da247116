"""The contract suite's fixtures: one InventoryStore per backend, a toy partition compiler."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from inventory_ops import toy_compiler

from dynamo.model import Inventory
from dynamo.store import InventoryStore, MemoryInventoryStore, SqlInventoryStore, migrate

STORE_BACKENDS = ("memory", "sqlite", "postgresql", "mysql")


@pytest.fixture(params=STORE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, database_url_factory: Callable[[str], str]) -> Iterator[InventoryStore]:
    """An empty store at head revision on ``backend``."""
    if backend == "memory":
        yield MemoryInventoryStore()
        return
    url = database_url_factory(backend)
    migrate(url)
    sql_store = SqlInventoryStore.open(url)
    yield sql_store
    sql_store.close()


@pytest.fixture
def inventory() -> Inventory:
    return Inventory(partition_compiler=toy_compiler)
