"""All SQL for the audit log. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.db.tables import AuditEvent

_ADD = insert(cast(Table, AuditEvent.__table__))
"""A plain INSERT, built once: it runs in every audited change, and the ORM's flush of an
event cost more CPU than the statement (docs/benchmarks.md, "Keys")."""


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        team_id: uuid.UUID,
        at: datetime,
        actor: str,
        action: str,
        target_id: uuid.UUID | None,
        target_name: str | None,
        client_addr: str | None,
        request_id: str | None,
        detail: str | None,
    ) -> None:
        """Write an event in the current transaction."""
        await self._session.execute(
            _ADD,
            {
                "team_id": team_id,
                "at": at,
                "actor": actor,
                "action": action,
                "target_id": target_id,
                "target_name": target_name,
                "client_addr": client_addr,
                "request_id": request_id,
                "detail": detail,
            },
        )

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
