"""Table models. Only repositories query them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from modelport.db.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base for every table."""


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Kept in the same transaction as every key insert and delete, so that a list's total
    # is one row read instead of a count over 100,000 keys.
    live_key_count: Mapped[int] = mapped_column(Integer, default=0)
    webhook_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    """Where the team is told of events that need it now (a leaked key); null: nowhere."""


class ApiToken(Base):
    """A control-plane credential for `/v2`. Only its digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ModelKey(Base):
    """A model access key. The digest is NULL once the key is deleted."""

    __tablename__ = "model_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"))
    name: Mapped[str] = mapped_column(String(64))
    digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    models: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    monthly_spend_limit_picousd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rpm_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tpm_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allowed_ips: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    """Addresses and CIDR ranges the key may be used from; NULL: anywhere."""
    # During a rotation with an overlap: the old secret's digest, accepted until its expiry.
    previous_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    credit_picousd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Prepaid credit granted in all (the sum of its `key_credit_topups`); null: no credit
    limit. What is left is this minus the key's usage since its first top-up."""

    __table_args__ = (
        Index("ix_model_keys_team_live", "team_id", "deleted_at", "created_at", "id"),
        Index("ux_model_keys_previous_digest", "previous_digest", unique=True),
    )


class AuditEvent(Base):
    """Who did what to which key, when and from where. Never a secret."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    target_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    """More about the event, where the action alone does not say (a top-up's amount, where a
    leaked key was found); null for most."""

    __table_args__ = (Index("ix_audit_events_team_at", "team_id", "id"),)


class KeyCreditTopUp(Base):
    """One grant of prepaid credit to a key: the ledger its `credit_picousd` sums."""

    __tablename__ = "key_credit_topups"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_keys.id"))
    amount_picousd: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_key_credit_topups_key", "key_id", "id"),)


class UsageRecord(Base):
    """One request that reached an upstream, written exactly once (unique request id).

    Cost is integer picodollars (1e-12 USD): prices are USD per million tokens with at most
    six decimals, so tokens x price is exact in this unit and is never rounded per request.
    """

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    request_id: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"))
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_keys.id"))
    model: Mapped[str] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cost_picousd: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(24))
    estimated: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cached_prompt_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    cache_write_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    reasoning_tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    deployment: Mapped[str | None] = mapped_column(String(200))
    """The deployment that served (`<model>#<name>`); null on rows from before deployments."""

    __table_args__ = (
        Index("ix_usage_team_time", "team_id", "created_at"),
        Index("ix_usage_key_time", "key_id", "created_at"),
    )


class User(Base):
    """A person who signs in to the panel. Only an argon2 hash of the password is stored."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class WebSession(Base):
    """A signed-in browser. Only the digest of its cookie's token is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invitation(Base):
    """A one-time link that creates an account: the first-run setup link or an invitation.

    Only the digest of its code is stored; using it deletes the row, so the code dies.
    """

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StoredResponse(Base):
    """A `/v1/responses` response kept for its team (`store`), until `expires_at`.

    `body` is the Response object as sent to the client, as JSON text; its output items are
    the next turn's context. `previous_response_id` is no foreign key: the response it names
    may be deleted or purged first, and the conversation then starts after the gap.
    `size` is the bytes of `body` and of its input items, so a walk up a conversation can
    stop at a size limit without reading them.
    """

    __tablename__ = "stored_responses"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"))
    key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_keys.id"))
    previous_response_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StoredResponseItem(Base):
    """One input item of a stored response (that request's own, not the history), as JSON."""

    __tablename__ = "stored_response_items"

    response_id: Mapped[str] = mapped_column(
        ForeignKey("stored_responses.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ux_stored_response_items_item", "response_id", "item_id", unique=True),
    )
