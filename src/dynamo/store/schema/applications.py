"""Application runs of the scheduler (migration 0004)."""

from __future__ import annotations

from dynamo.store.schema.base import metadata

__all__: list[str] = []

_ = metadata  # tables of this area are declared on the shared metadata
