"""Teams may have a webhook; audit events may say more (where a leaked key was found).

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
    with op.batch_alter_table("teams") as table:
        table.add_column(sa.Column("webhook_url", sa.String(2048), nullable=True))
    with op.batch_alter_table("audit_events") as table:
        table.add_column(sa.Column("detail", sa.String(2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as table:
        table.drop_column("detail")
    with op.batch_alter_table("teams") as table:
        table.drop_column("webhook_url")
