"""Panel roles, and a signed-in member of a team as the services see them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, get_args

from modelport.auth.principal import READ_SCOPES, WRITE_SCOPES, Principal
from modelport.db.tables import Team, User
from modelport.errors import InvalidInput

Role = Literal["owner", "member", "viewer"]
"""owner: everything, including people and API tokens; member: keys; viewer: read only."""

ROLES: tuple[Role, ...] = get_args(Role)


def parse_role(raw: str) -> Role:
    """The role named `raw`; InvalidInput if there is no such role."""
    for role in ROLES:
        if raw == role:
            return role
    raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in user: who they are, in which team, with which role."""

    user_id: uuid.UUID
    email: str
    role: Role
    team_id: uuid.UUID
    team_name: str

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"

    @property
    def principal(self) -> Principal:
        """The same principal an API token would be, so every service treats both alike."""
        return Principal(
            team_id=self.team_id,
            team_name=self.team_name,
            actor=f"user:{self.email}",
            scopes=READ_SCOPES if self.role == "viewer" else WRITE_SCOPES,
        )


def member_of(user: User, team: Team) -> Member:
    """A user row and its team as a member."""
    return Member(
        user_id=user.id,
        email=user.email,
        role=parse_role(user.role),
        team_id=team.id,
        team_name=team.name,
    )
