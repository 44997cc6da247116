"""Copy and deletion requests and replica locks (migration 0002)."""

from __future__ import annotations

from dynamo.store.schema.base import metadata

__all__: list[str] = []

_ = metadata  # tables of this area are declared on the shared metadata
