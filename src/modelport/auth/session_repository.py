"""All SQL for panel sessions. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.core.digest import Digest
from modelport.db.tables import Team, User, WebSession


class SessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, web_session: WebSession) -> None:
        self._session.add(web_session)
        await self._session.flush()

    async def live(self, digest: Digest, now: datetime) -> tuple[User, Team] | None:
        """The user and team behind an unexpired session, read in one query."""
        result = await self._session.execute(
            select(User, Team)
            .join(WebSession, WebSession.user_id == User.id)
            .join(Team, Team.id == User.team_id)
            .where(WebSession.digest == digest, WebSession.expires_at > now)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def remove(self, digest: Digest) -> None:
        await self._session.execute(delete(WebSession).where(WebSession.digest == digest))

    async def remove_expired(self, user_id: uuid.UUID, now: datetime) -> None:
        await self._session.execute(
            delete(WebSession).where(WebSession.user_id == user_id, WebSession.expires_at <= now)
        )
