"""Panel accounts for tests, made on the hub's database through the services the panel uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from playwright.sync_api import Page

from modelport.auth.member import Role
from modelport.auth.passwords import Passwords
from modelport.auth.sessions import SessionService
from modelport.auth.throttle import SignInThrottle
from modelport.auth.users import UserService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.infra.ratelimit import MemoryRateLimiter
from modelport.web.csrf import SESSION_COOKIE
from tests.support.hub import TEST_SECRET, Hub
from tests.support.loop import BackgroundLoop

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    team: str
    role: Role


class Accounts:
    """Creates users in a team of the caller's choosing (by default a fresh one)."""

    def __init__(self, hub: Hub, loop: BackgroundLoop) -> None:
        self._hub = hub
        self._loop = loop
        self._passwords = Passwords()
        self._digester = Digester(TEST_SECRET.encode())
        self._database = Database(Settings(database_url=hub.database_url).sqlalchemy_url)

    def close(self) -> None:
        self._loop.run(self._database.dispose())

    def create(self, role: Role = "member", team: str | None = None) -> Account:
        account = Account(
            email=f"{role}-{uuid.uuid4().hex[:10]}@example.com",
            password=PASSWORD,
            team=team or "t-" + uuid.uuid4().hex[:12],
            role=role,
        )
        self._loop.run(self._store(account))
        return account

    def enter(self, page: Page, role: Role = "member", team: str | None = None) -> Account:
        """A new account, already signed in on `page` and looking at the keys page.

        The session is made by the panel's own session service, as the sign-in form would;
        the tests of the form itself sign in through it.
        """
        account = self.create(role, team)
        token = self._loop.run(self._session(account))
        self._hub.issued.add(token)
        page.context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": self._hub.url}])
        page.goto("/inference")
        return account

    async def _store(self, account: Account) -> None:
        async with self._database.write() as unit:
            people = UserService(unit, self._passwords)
            team = await people.team(account.team)
            await people.create(
                team, account.email, account.password, account.role, created_by="test"
            )

    async def _session(self, account: Account) -> str:
        throttle = SignInThrottle(MemoryRateLimiter(), self._digester)
        lifetime = timedelta(hours=1)
        async with self._database.read() as unit:
            sessions = SessionService(unit, self._digester, self._passwords, throttle, lifetime)
            member = await sessions.authenticate(account.email, account.password, None)
        async with self._database.write() as unit:
            sessions = SessionService(unit, self._digester, self._passwords, throttle, lifetime)
            return await sessions.start(member)
