"""Copy and deletion requests and replica locks (dynamo.store.schema.registry).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables of dynamo.store.schema.registry (none yet)."""


def downgrade() -> None:
    """Drop the tables of dynamo.store.schema.registry (none yet)."""
