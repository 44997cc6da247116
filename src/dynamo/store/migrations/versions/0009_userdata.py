"""User data (dynamo.store.schema.userdata).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create userdata_datasets and userdata_imports."""
    op.create_table(
        "userdata_datasets",
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=True),
        sa.Column("target_site", sa.String(64), nullable=True),
        sa.Column("subscribed", sa.BigInteger(), nullable=True),
        sa.Column("consolidated", sa.BigInteger(), nullable=True),
        sa.Column("deleted", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_userdata_datasets"),
    )
    op.create_index("ix_userdata_datasets_owner", "userdata_datasets", ["owner"])
    op.create_table(
        "userdata_imports",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("dataset", sa.String(512), nullable=False),
        sa.Column("lfn", sa.String(512), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("adler32", sa.String(8), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_userdata_imports"),
    )
    op.create_index("ix_userdata_imports_status", "userdata_imports", ["status"])
    op.create_index("ix_userdata_imports_lfn", "userdata_imports", ["lfn"])


def downgrade() -> None:
    """Drop the tables of this revision."""
    op.drop_table("userdata_imports")
    op.drop_table("userdata_datasets")
