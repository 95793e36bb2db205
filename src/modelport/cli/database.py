"""The database work of `tokens create` and `users create`.

Imported only by those commands, so that the API commands (`keys`, `audit`, ...) start
without SQLAlchemy and Alembic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer
from sqlalchemy.exc import DBAPIError

from modelport.auth.member import parse_role
from modelport.auth.passwords import Passwords
from modelport.auth.service import TokenService
from modelport.auth.users import UserService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.db.files import private_folder
from modelport.db.migrate import upgrade_to_head
from modelport.errors import ModelportError

T = TypeVar("T")


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's database work; any failure exits 1 with one line on stderr.

    Our errors carry a safe message; a bad setting or folder names itself; a database that
    refuses (no such database, no such role) says why in the driver's words.
    """
    try:
        return asyncio.run(work)
    except ModelportError as exc:
        problem = exc.message
    except (ValueError, OSError) as exc:
        problem = str(exc)
    except DBAPIError as exc:
        problem = str(exc.orig).splitlines()[0]
    typer.echo(f"modelport: {problem}", err=True)
    raise typer.Exit(1)


async def create_token(settings: Settings, name: str, team_name: str, read_only: bool) -> str:
    """A new API token for the team, which is created if need be; migrates first.

    The server secret is checked before the database is touched: a shared database without
    MODELPORT_SECRET is refused, not migrated.
    """
    private_folder(settings.data_dir)
    digester = Digester(settings.server_secret())
    database = Database(settings.sqlalchemy_url)
    try:
        await upgrade_to_head(database)
        async with database.write() as unit:
            service = TokenService(unit, digester)
            team = await service.team(team_name, create=True)
            _, secret = await service.issue(team, name, read_only=read_only, created_by="cli")
        return secret
    finally:
        await database.dispose()


async def create_user(
    settings: Settings, email: str, team_name: str, role: str, password: str
) -> None:
    """A control panel user in an existing team; migrates first."""
    private_folder(settings.data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        await upgrade_to_head(database)
        async with database.write() as unit:
            people = UserService(unit, Passwords())
            team = await people.team(team_name)
            await people.create(team, email, password, parse_role(role), created_by="cli")
    finally:
        await database.dispose()
