"""Stored responses: `/v1/responses` kept for their team, with their input items.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from modelport.db.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_responses",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("team_id", sa.Uuid(), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("key_id", sa.Uuid(), sa.ForeignKey("model_keys.id"), nullable=False),
        sa.Column("previous_response_id", sa.String(128), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_stored_responses_expires_at", "stored_responses", ["expires_at"])
    op.create_table(
        "stored_response_items",
        sa.Column(
            "response_id",
            sa.String(128),
            sa.ForeignKey("stored_responses.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.String(128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index(
        "ux_stored_response_items_item",
        "stored_response_items",
        ["response_id", "item_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("stored_response_items")
    op.drop_table("stored_responses")
