"""The registry contract suite's fixture: one RegistryStore per backend, at head revision."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from dynamo.registry import MemoryRegistryStore, RegistryStore
from dynamo.store import make_engine, migrate
from dynamo.store.registry import SqlRegistryStore


@pytest.fixture(params=("memory", "sqlite", "postgresql", "mysql"))
def registry_store(
    request: pytest.FixtureRequest, database_url_factory: Callable[[str], str]
) -> Iterator[RegistryStore]:
    """An empty registry on each backend."""
    if request.param == "memory":
        yield MemoryRegistryStore()
        return
    url = database_url_factory(str(request.param))
    migrate(url)
    engine = make_engine(url)
    yield SqlRegistryStore(engine)
    engine.dispose()
