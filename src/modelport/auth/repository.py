"""All SQL for teams and control-plane tokens. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.core.digest import Digest
from modelport.db.tables import ApiToken, Team

# Statements that run on most control-plane requests, built once: building one cost more CPU
# than running it. Bound parameters are named unlike any column, since an UPDATE would set a
# column named by one.
ADJUST_KEY_COUNT = (
    update(Team)
    .where(Team.id == bindparam("p_team_id"))
    .values(live_key_count=Team.live_key_count + bindparam("p_delta"))
)
_KEY_COUNT = select(Team.live_key_count).where(Team.id == bindparam("p_team_id"))
_LIVE_TOKEN_HOLDER = (
    select(ApiToken.name, ApiToken.read_only, Team.id, Team.name)
    .join(Team, Team.id == ApiToken.team_id)
    .where(ApiToken.digest == bindparam("p_digest"), ApiToken.revoked_at.is_(None))
)


class TeamRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_name(self, name: str) -> Team | None:
        result = await self._session.execute(select(Team).where(Team.name == name))
        return result.scalar_one_or_none()

    async def by_id(self, team_id: uuid.UUID) -> Team | None:
        return await self._session.get(Team, team_id)

    async def add(self, name: str, now: datetime) -> Team:
        team = Team(id=uuid.uuid4(), name=name, created_at=now, live_key_count=0)
        self._session.add(team)
        await self._session.flush()  # so that tokens in this unit can refer to it
        return team

    async def adjust_key_count(self, team_id: uuid.UUID, delta: int) -> None:
        await self._session.execute(ADJUST_KEY_COUNT, {"p_team_id": team_id, "p_delta": delta})

    async def key_count(self, team_id: uuid.UUID) -> int:
        result = await self._session.execute(_KEY_COUNT, {"p_team_id": team_id})
        return result.scalar_one_or_none() or 0


@dataclass(frozen=True, slots=True)
class TokenHolder:
    """A live token's name and rights, and its team."""

    token_name: str
    read_only: bool
    team_id: uuid.UUID
    team_name: str


class TokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: ApiToken) -> None:
        self._session.add(token)
        await self._session.flush()

    async def live_by_digest(self, digest: Digest) -> TokenHolder | None:
        """Who holds the live token with this digest; None if no live token has it.

        Columns, not entities: this runs on every /v2 request, and loading two ORM objects
        into the session cost more than the query.
        """
        result = await self._session.execute(_LIVE_TOKEN_HOLDER, {"p_digest": digest})
        row = result.one_or_none()
        return None if row is None else TokenHolder(*row)

    async def list_live(self, team_id: uuid.UUID) -> list[ApiToken]:
        result = await self._session.execute(
            select(ApiToken)
            .where(ApiToken.team_id == team_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
        return list(result.scalars())

    async def revoke(self, team_id: uuid.UUID, token_id: uuid.UUID, now: datetime) -> bool:
        result = await self._session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                ApiToken.team_id == team_id,
                ApiToken.revoked_at.is_(None),
            )
            .values(revoked_at=now, digest=None)
            .returning(ApiToken.id)
        )
        return result.scalar_one_or_none() is not None
