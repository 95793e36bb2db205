"""Panel sign-in: passwords become sessions, and session cookies become members.

The cookie holds a random token; the database holds only its digest, so a copy of the
database cannot be used to sign in.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from modelport.auth.member import Member, member_of
from modelport.auth.passwords import Passwords
from modelport.auth.session_repository import SessionRepository
from modelport.auth.throttle import SignInThrottle
from modelport.auth.user_repository import UserRepository
from modelport.core import secrets as secret_format
from modelport.core.clock import utcnow
from modelport.core.digest import Digester
from modelport.db.tables import WebSession
from modelport.db.uow import UnitOfWork
from modelport.errors import Unauthenticated

SIGN_IN_FAILED = "Incorrect email or password."
THROTTLED_PAUSE_SECONDS = 1.0


class SessionService:
    def __init__(
        self,
        unit: UnitOfWork,
        digester: Digester,
        passwords: Passwords,
        throttle: SignInThrottle,
        lifetime: timedelta,
    ) -> None:
        self._sessions = SessionRepository(unit.session)
        self._users = UserRepository(unit.session)
        self._digester = digester
        self._passwords = passwords
        self._throttle = throttle
        self._lifetime = lifetime

    async def authenticate(self, email: str, password: str, client_addr: str | None) -> Member:
        """The member with this email and password. Unauthenticated, with one message, for
        every failure: unknown email, wrong password, or too many recent failures.

        Only reads: run it in a read unit, so that hashing the password never holds
        SQLite's write lock.
        """
        address = email.strip().lower()
        if await self._throttle.blocked(address, client_addr):
            await asyncio.sleep(THROTTLED_PAUSE_SECONDS)
            raise Unauthenticated(SIGN_IN_FAILED)
        found = await self._users.by_email(address)
        matched = await self._passwords.verify(found[0].password_hash if found else None, password)
        if found is None or not matched:
            await self._throttle.failed(address, client_addr)
            raise Unauthenticated(SIGN_IN_FAILED)
        return member_of(*found)

    async def start(self, member: Member) -> secret_format.PlainSecret:
        """A new session for `member`; the token exists only in this return value."""
        token = secret_format.generate(secret_format.SESSION_PREFIX)
        now = utcnow()
        await self._sessions.remove_expired(member.user_id, now)
        await self._sessions.add(
            WebSession(
                id=uuid.uuid4(),
                user_id=member.user_id,
                digest=self._digester.digest(token),
                created_at=now,
                expires_at=now + self._lifetime,
            )
        )
        return token

    async def resolve(self, token: str) -> Member | None:
        """The member signed in with `token`, or None if it is malformed, unknown or expired."""
        if not secret_format.is_well_formed(secret_format.SESSION_PREFIX, token):
            return None
        found = await self._sessions.live(self._digester.digest(token), utcnow())
        return None if found is None else member_of(*found)

    async def sign_out(self, token: str) -> None:
        if secret_format.is_well_formed(secret_format.SESSION_PREFIX, token):
            await self._sessions.remove(self._digester.digest(token))
