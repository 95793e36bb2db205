"""One-time links that create accounts: the first-run setup link and owners' invitations.

A link carries a code; only the code's digest is stored. Using the link deletes the row in
the same transaction that creates the account, so the code dies with its first use.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from modelport.auth.member import Member, Role, member_of, parse_role
from modelport.auth.passwords import Passwords
from modelport.auth.service import DEFAULT_TEAM
from modelport.auth.user_repository import InvitationRepository, UserRepository
from modelport.auth.users import UserService, normalize_email, require_owner
from modelport.core import secrets as secret_format
from modelport.core.clock import utcnow
from modelport.core.digest import Digest, Digester
from modelport.db.tables import Invitation
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput, NotFound

INVITATION_DAYS = 7
DEAD_LINK = "This link is invalid, has expired or has already been used."


class InvitationService:
    def __init__(self, unit: UnitOfWork, digester: Digester, passwords: Passwords) -> None:
        self._invitations = InvitationRepository(unit.session)
        self._users = UserRepository(unit.session)
        self._people = UserService(unit, passwords)
        self._digester = digester

    async def open_setup(self) -> secret_format.PlainSecret | None:
        """A setup code for the owner of a fresh install, or None once any user exists.
        The codes opened before it stop working."""
        if await self._users.any_exists():
            return None
        team = await self._people.team(DEFAULT_TEAM)
        await self._invitations.take_all_setup()
        code = secret_format.generate(secret_format.INVITE_PREFIX)
        await self._invitations.add(self._new(code, "setup", team.id, None, "owner", "setup"))
        return code

    async def invite(
        self, member: Member, email: str, role: str
    ) -> tuple[Invitation, secret_format.PlainSecret]:
        """An invitation into the member's team and its code, shown once. Forbidden for
        non-owners; InvalidInput for a bad or taken email or an unknown role."""
        require_owner(member)
        address = normalize_email(email)
        wanted = parse_role(role)
        if await self._users.by_email(address) is not None:
            raise InvalidInput("a user with this email already exists", field="email")
        code = secret_format.generate(secret_format.INVITE_PREFIX)
        invitation = self._new(code, "invite", member.team_id, address, wanted, member.email)
        invitation.expires_at = invitation.created_at + timedelta(days=INVITATION_DAYS)
        await self._invitations.add(invitation)
        return invitation, code

    async def pending(self, member: Member) -> list[Invitation]:
        require_owner(member)
        return await self._invitations.pending(member.team_id, utcnow())

    async def cancel(self, member: Member, invitation_id: uuid.UUID) -> None:
        require_owner(member)
        if not await self._invitations.cancel(member.team_id, invitation_id):
            raise NotFound("no such invitation")

    async def describe(self, code: str) -> Invitation:
        """The live invitation behind `code`; NotFound if the link is dead."""
        digest = self._digest(code)
        invitation = None if digest is None else await self._invitations.live(digest, utcnow())
        if invitation is None or (invitation.kind == "setup" and await self._users.any_exists()):
            raise NotFound(DEAD_LINK)
        return invitation

    async def accept(self, code: str, email: str, password: str) -> Member:
        """The new account's member. NotFound if the link is dead; InvalidInput for a bad email or
        password, checked before the code is used, so the code stays valid."""
        invitation = await self.describe(code)
        address = await self._people.check_new(invitation.email or email, password)
        taken = await self._take(self._digester.digest(code))
        team = await self._people.team_by_id(taken.team_id)
        user = await self._people.create(
            team, address, password, parse_role(taken.role), created_by=taken.created_by
        )
        return member_of(user, team)

    async def _take(self, digest: Digest) -> Invitation:
        invitation = await self._invitations.live(digest, utcnow())
        if invitation is not None and invitation.kind == "setup":
            # Every setup code dies with the first one used, and none works once a user exists.
            taken = await self._invitations.take_all_setup()
            if digest in taken and not await self._users.any_exists():
                return invitation
            raise NotFound(DEAD_LINK)
        invitation = await self._invitations.take(digest, utcnow())
        if invitation is None:
            raise NotFound(DEAD_LINK)
        return invitation

    def _digest(self, code: str) -> Digest | None:
        if not secret_format.is_well_formed(secret_format.INVITE_PREFIX, code):
            return None
        return self._digester.digest(code)

    def _new(
        self,
        code: secret_format.PlainSecret,
        kind: str,
        team_id: uuid.UUID,
        email: str | None,
        role: Role,
        created_by: str,
    ) -> Invitation:
        return Invitation(
            id=uuid.uuid4(),
            kind=kind,
            digest=self._digester.digest(code),
            team_id=team_id,
            email=email,
            role=role,
            created_at=utcnow(),
            created_by=created_by,
            expires_at=None,
        )
