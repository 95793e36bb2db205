"""All SQL for leaked keys and the team's webhook. Never commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.core.digest import Digest
from modelport.db.tables import AuditEvent, ModelKey, Team


class LeakRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def live_key(self, digest: Digest, now: datetime) -> ModelKey | None:
        """The live key with this digest, whichever team's: its secret, or the old secret of
        a rotation whose overlap still runs (it works until then, so it can leak)."""
        presented = or_(
            ModelKey.digest == digest,
            and_(ModelKey.previous_digest == digest, ModelKey.previous_expires_at > now),
        )
        result = await self._session.execute(
            select(ModelKey).where(presented, ModelKey.deleted_at.is_(None))
        )
        return result.scalar_one_or_none()

    async def webhook_url(self, team_id: uuid.UUID) -> str | None:
        result = await self._session.execute(select(Team.webhook_url).where(Team.id == team_id))
        return result.scalar_one_or_none()

    async def set_webhook_url(self, team_id: uuid.UUID, url: str | None) -> None:
        await self._session.execute(update(Team).where(Team.id == team_id).values(webhook_url=url))

    async def events_since(
        self, team_id: uuid.UUID, actions: Collection[str], since: datetime, limit: int
    ) -> list[AuditEvent]:
        """The team's newest events with these actions since `since`."""
        result = await self._session.execute(
            select(AuditEvent)
            .where(
                AuditEvent.team_id == team_id,
                AuditEvent.action.in_(actions),
                AuditEvent.at >= since,
            )
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        return list(result.scalars())
