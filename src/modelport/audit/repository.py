"""All SQL for the audit log. Never commits."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.db.tables import AuditEvent


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, event: AuditEvent) -> None:
        self._session.add(event)

    async def count(self, team_id: uuid.UUID) -> int:
        result = await self._session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.team_id == team_id)
        )
        return int(result.scalar_one())

    async def newest_first(
        self, team_id: uuid.UUID, *, offset: int, limit: int
    ) -> list[AuditEvent]:
        result = await self._session.execute(
            select(AuditEvent)
            .where(AuditEvent.team_id == team_id)
            .order_by(AuditEvent.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(result.scalars())
