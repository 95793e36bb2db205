"""Address allow-lists: the addresses and CIDR ranges a key may be used from.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_keys") as table:
        table.add_column(sa.Column("allowed_ips", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_keys") as table:
        table.drop_column("allowed_ips")
