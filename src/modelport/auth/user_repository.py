"""All SQL for panel users and invitations. Never commits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.core.digest import Digest
from modelport.db.tables import Invitation, Team, User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User) -> None:
        self._session.add(user)
        await self._session.flush()  # a duplicate email fails here, inside the caller's unit

    async def by_email(self, email: str) -> tuple[User, Team] | None:
        result = await self._session.execute(
            select(User, Team).join(Team, Team.id == User.team_id).where(User.email == email)
        )
        row = result.one_or_none()
        return None if row is None else (row[0], row[1])

    async def any_exists(self) -> bool:
        result = await self._session.execute(select(User.id).limit(1))
        return result.first() is not None

    async def of_team(self, team_id: uuid.UUID) -> list[User]:
        result = await self._session.execute(
            select(User).where(User.team_id == team_id).order_by(User.email)
        )
        return list(result.scalars())

    async def lock_owners(self, team_id: uuid.UUID) -> list[uuid.UUID]:
        """The team's owners, their rows locked until the transaction ends.

        Two owners demoting each other at once then run one after the other, and the second
        sees that no owner would be left.
        """
        result = await self._session.execute(
            select(User.id).where(User.team_id == team_id, User.role == "owner").with_for_update()
        )
        return list(result.scalars())

    async def set_role(self, team_id: uuid.UUID, user_id: uuid.UUID, role: str) -> User | None:
        """The updated user of this team, or None if there is none."""
        result = await self._session.execute(
            update(User)
            .where(User.id == user_id, User.team_id == team_id)
            .values(role=role)
            .returning(User),
            execution_options={"synchronize_session": False},
        )
        return result.scalar_one_or_none()


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, invitation: Invitation) -> None:
        self._session.add(invitation)
        await self._session.flush()

    async def live(self, digest: Digest, now: datetime) -> Invitation | None:
        result = await self._session.execute(
            select(Invitation).where(
                Invitation.digest == digest,
                or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
            )
        )
        return result.scalar_one_or_none()

    async def take(self, digest: Digest, now: datetime) -> Invitation | None:
        """Delete and return the live invitation with this digest.

        Two requests racing with one code: the second finds the row gone and gets None.
        """
        result = await self._session.execute(
            delete(Invitation)
            .where(
                Invitation.digest == digest,
                or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
            )
            .returning(Invitation),
            execution_options={"synchronize_session": False},
        )
        return result.scalar_one_or_none()

    async def take_all_setup(self) -> list[bytes]:
        """Delete every setup code, returning their digests.

        Racing requests with two different setup codes serialise on these rows, and the
        second finds nothing left to take.
        """
        result = await self._session.execute(
            delete(Invitation).where(Invitation.kind == "setup").returning(Invitation.digest),
            execution_options={"synchronize_session": False},
        )
        return list(result.scalars())

    async def pending(self, team_id: uuid.UUID, now: datetime) -> list[Invitation]:
        result = await self._session.execute(
            select(Invitation)
            .where(
                Invitation.team_id == team_id,
                Invitation.kind == "invite",
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at.desc())
        )
        return list(result.scalars())

    async def cancel(self, team_id: uuid.UUID, invitation_id: uuid.UUID) -> bool:
        result = await self._session.execute(
            delete(Invitation)
            .where(
                Invitation.id == invitation_id,
                Invitation.team_id == team_id,
                Invitation.kind == "invite",
            )
            .returning(Invitation.id),
            execution_options={"synchronize_session": False},
        )
        return result.scalar_one_or_none() is not None
