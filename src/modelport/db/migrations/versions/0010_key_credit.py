"""Prepaid credit per key: the granted total on the key, a ledger of top-ups, and audit
events that say how much.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from modelport.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_keys") as table:
        table.add_column(sa.Column("credit_picousd", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("audit_events") as table:
        table.add_column(sa.Column("detail", sa.String(200), nullable=True))
    op.create_table(
        "key_credit_topups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("key_id", sa.Uuid(), sa.ForeignKey("model_keys.id"), nullable=False),
        sa.Column("amount_picousd", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=True),
    )
    op.create_index("ix_key_credit_topups_key", "key_credit_topups", ["key_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_key_credit_topups_key", table_name="key_credit_topups")
    op.drop_table("key_credit_topups")
    with op.batch_alter_table("audit_events") as table:
        table.drop_column("detail")
    with op.batch_alter_table("model_keys") as table:
        table.drop_column("credit_picousd")
