"""Per-key limits: expiry, monthly spend limit, requests and tokens per minute.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from modelport.db.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_keys") as table:
        table.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        table.add_column(sa.Column("monthly_spend_limit_picousd", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("rpm_limit", sa.Integer(), nullable=True))
        table.add_column(sa.Column("tpm_limit", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_keys") as table:
        table.drop_column("tpm_limit")
        table.drop_column("rpm_limit")
        table.drop_column("monthly_spend_limit_picousd")
        table.drop_column("expires_at")
