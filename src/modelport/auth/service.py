"""Control-plane tokens: issue them, and turn a presented one into a principal."""

from __future__ import annotations

import uuid

from modelport.auth.principal import READ_SCOPES, WRITE_SCOPES, Principal
from modelport.auth.repository import TeamRepository, TokenRepository
from modelport.core import secrets as secret_format
from modelport.core.clock import utcnow
from modelport.core.digest import Digester
from modelport.core.names import normalize_name
from modelport.db.tables import ApiToken, Team
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput, NotFound, Unauthenticated

DEFAULT_TEAM = "default"


class TokenService:
    """Issues, lists, revokes and verifies control-plane API tokens within one unit of work."""

    def __init__(self, unit: UnitOfWork, digester: Digester) -> None:
        self._teams = TeamRepository(unit.session)
        self._tokens = TokenRepository(unit.session)
        self._digester = digester

    async def team(self, name: str, *, create: bool = False) -> Team:
        """The team called `name`; created if `create`, else NotFound."""
        team = await self._teams.by_name(name)
        if team is not None:
            return team
        if not create:
            raise NotFound(f"no team named {name!r}")
        return await self._teams.add(_team_name(name), utcnow())

    async def issue(
        self, team: Team, name: str, *, read_only: bool, created_by: str
    ) -> tuple[ApiToken, secret_format.PlainSecret]:
        """A new token and its secret, which exists nowhere else."""
        secret = secret_format.generate(secret_format.API_TOKEN_PREFIX)
        token = ApiToken(
            id=uuid.uuid4(),
            team_id=team.id,
            name=_token_name(name),
            digest=self._digester.digest(secret),
            read_only=read_only,
            created_at=utcnow(),
            created_by=created_by,
        )
        await self._tokens.add(token)
        return token, secret

    async def list(self, team_id: uuid.UUID) -> list[ApiToken]:
        return await self._tokens.list_live(team_id)

    async def revoke(self, team_id: uuid.UUID, token_id: uuid.UUID) -> None:
        """Revoke a token of this team; NotFound if there is no such live token."""
        if not await self._tokens.revoke(team_id, token_id, utcnow()):
            raise NotFound("no such API token")

    async def authenticate(self, presented: str) -> Principal:
        """The principal behind a presented token, or Unauthenticated."""
        if not secret_format.is_well_formed(secret_format.API_TOKEN_PREFIX, presented):
            raise Unauthenticated("Unable to authenticate you.")
        found = await self._tokens.live_by_digest(self._digester.digest(presented))
        if found is None:
            raise Unauthenticated("Unable to authenticate you.")
        return Principal(
            team_id=found.team_id,
            team_name=found.team_name,
            actor=f"token:{found.token_name}",
            scopes=READ_SCOPES if found.read_only else WRITE_SCOPES,
        )


def _team_name(raw: str) -> str:
    try:
        return normalize_name(raw)
    except ValueError as exc:
        raise InvalidInput(f"team {exc}", field="team") from None


def _token_name(raw: str) -> str:
    try:
        return normalize_name(raw)
    except ValueError as exc:
        raise InvalidInput(f"token {exc}", field="name") from None
