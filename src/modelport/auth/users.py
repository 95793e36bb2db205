"""People who sign in to the panel: create them, list them, change their roles."""

from __future__ import annotations

import re
import uuid

from modelport.auth.member import Member, Role, parse_role
from modelport.auth.passwords import Passwords, check_password
from modelport.auth.repository import TeamRepository
from modelport.auth.user_repository import UserRepository
from modelport.core.clock import utcnow
from modelport.core.names import refuse_hidden
from modelport.db.tables import Team, User
from modelport.db.uow import UnitOfWork
from modelport.errors import Forbidden, InvalidInput, NotFound

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
OWNERS_ONLY = "Only an owner of the team can do this."


def normalize_email(raw: str) -> str:
    """The trimmed, lower-cased address; InvalidInput if it does not look like one, or
    holds a character that would make it display as another (a bidirectional control)."""
    email = raw.strip().lower()
    try:
        refuse_hidden(email, "email")
    except ValueError as exc:
        raise InvalidInput(str(exc), field="email") from None
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidInput("enter an email address like name@example.com", field="email")
    return email


def require_owner(member: Member) -> None:
    """Raises Forbidden unless `member` owns the team."""
    if not member.is_owner:
        raise Forbidden(OWNERS_ONLY)


class UserService:
    """Creates users and changes roles, in the caller's unit of work."""

    def __init__(self, unit: UnitOfWork, passwords: Passwords) -> None:
        self._users = UserRepository(unit.session)
        self._teams = TeamRepository(unit.session)
        self._passwords = passwords

    async def team(self, name: str, *, create: bool = True) -> Team:
        """The team called `name`, created if it does not exist yet (else NotFound)."""
        team = await self._teams.by_name(name)
        if team is not None:
            return team
        if not create:
            raise NotFound(f"no team named {name!r}")
        return await self._teams.add(name, utcnow())

    async def team_by_id(self, team_id: uuid.UUID) -> Team:
        """The team with this id; NotFound if there is none."""
        team = await self._teams.by_id(team_id)
        if team is None:
            raise NotFound("no such team")
        return team

    async def create(
        self, team: Team, email: str, password: str, role: Role, *, created_by: str
    ) -> User:
        """A new user; InvalidInput for a bad or taken email, or a weak password."""
        email = await self.check_new(email, password)
        user = User(
            id=uuid.uuid4(),
            team_id=team.id,
            email=email,
            password_hash=await self._passwords.hash(password),
            role=role,
            created_at=utcnow(),
            created_by=created_by,
        )
        await self._users.add(user)
        return user

    async def check_new(self, email: str, password: str) -> str:
        """The normalised email, if a new user could have it and this password; InvalidInput
        saying what is wrong otherwise."""
        address = normalize_email(email)
        check_password(password)
        if await self._users.by_email(address) is not None:
            raise InvalidInput("a user with this email already exists", field="email")
        return address

    async def of_team(self, team_id: uuid.UUID) -> list[User]:
        return await self._users.of_team(team_id)

    async def set_role(self, member: Member, user_id: uuid.UUID, role: str) -> User:
        """The user with the new role. Forbidden for non-owners, NotFound for other teams'
        users, InvalidInput if it would leave the team without an owner."""
        require_owner(member)
        wanted = parse_role(role)
        owners = await self._users.lock_owners(member.team_id)
        if wanted != "owner" and owners == [user_id]:
            raise InvalidInput("a team needs at least one owner", field="role")
        user = await self._users.set_role(member.team_id, user_id, wanted)
        if user is None:
            raise NotFound("no such user in this team")
        return user
