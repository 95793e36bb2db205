"""Rotation with an overlap: a key's previous digest, accepted until its expiry.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from modelport.db.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_keys") as table:
        table.add_column(sa.Column("previous_digest", sa.LargeBinary(32), nullable=True))
        table.add_column(sa.Column("previous_expires_at", UTCDateTime(), nullable=True))
    # A unique index, not a constraint: SQLite would have to rebuild the table for one, and
    # usage rows refer to it.
    op.create_index("ux_model_keys_previous_digest", "model_keys", ["previous_digest"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_model_keys_previous_digest", table_name="model_keys")
    with op.batch_alter_table("model_keys") as table:
        table.drop_column("previous_expires_at")
        table.drop_column("previous_digest")
