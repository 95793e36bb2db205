"""Panel accounts for tests, made on the hub's database through the same service the CLI uses."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from modelport.auth.member import Role
from modelport.auth.passwords import Passwords
from modelport.auth.users import UserService
from modelport.config import Settings
from modelport.db.engine import Database
from tests.support.hub import Hub
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

    def create(self, role: Role = "member", team: str | None = None) -> Account:
        account = Account(
            email=f"{role}-{uuid.uuid4().hex[:10]}@example.com",
            password=PASSWORD,
            team=team or "t-" + uuid.uuid4().hex[:12],
            role=role,
        )
        self._loop.run(self._store(account))
        return account

    async def _store(self, account: Account) -> None:
        database = Database(Settings(database_url=self._hub.database_url).sqlalchemy_url)
        try:
            async with database.write() as unit:
                people = UserService(unit, self._passwords)
                team = await people.team(account.team)
                await people.create(
                    team, account.email, account.password, account.role, created_by="test"
                )
        finally:
            await database.dispose()
