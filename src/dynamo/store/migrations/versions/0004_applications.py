"""Application runs of the scheduler (dynamo.store.schema.applications).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create app_runs and app_authorizations."""
    op.create_table(
        "app_runs",
        sa.Column("id", _BigId, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("user_dn", sa.String(512), nullable=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("args", sa.Text(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=True),
        sa.Column("submitted", sa.BigInteger(), nullable=False),
        sa.Column("started", sa.BigInteger(), nullable=True),
        sa.Column("finished", sa.BigInteger(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("log_seq", sa.BigInteger(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("log_path", sa.String(1024), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_app_runs"),
    )
    op.create_index("ix_app_runs_app", "app_runs", ["app"])
    op.create_index("ix_app_runs_status", "app_runs", ["status"])
    op.create_table(
        "app_authorizations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app", sa.String(64), nullable=False),
        sa.Column("user_dn", sa.String(512), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_app_authorizations"),
        sa.UniqueConstraint("app", "user_dn", name="uq_app_authorizations_app_user_dn"),
    )


def downgrade() -> None:
    """Drop app_runs and app_authorizations."""
    op.drop_table("app_authorizations")
    op.drop_index("ix_app_runs_status", table_name="app_runs")
    op.drop_index("ix_app_runs_app", table_name="app_runs")
    op.drop_table("app_runs")
