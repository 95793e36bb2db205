"""Teams may have a webhook; an audit event's detail may hold a URL (where a leaked key was
found), longer than a top-up's amount.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as table:
        table.add_column(sa.Column("webhook_url", sa.String(2048), nullable=True))
    with op.batch_alter_table("audit_events") as table:
        table.alter_column(
            "detail", type_=sa.String(2048), existing_type=sa.String(200), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as table:
        table.alter_column(
            "detail", type_=sa.String(200), existing_type=sa.String(2048), existing_nullable=True
        )
    with op.batch_alter_table("teams") as table:
        table.drop_column("webhook_url")
