"""The database work of the local admin commands: `tokens`, `users` and `db`.

Imported only by those commands, so that the API commands (`keys`, `audit`, ...) start
without SQLAlchemy and Alembic. Except `db upgrade`, they work only on a database that
exists and is at this version's newest migration: a token made in a database the hub does
not use (a mistyped data folder) is one the hub rejects, so such a folder is refused.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError

from modelport.auth.member import parse_role
from modelport.auth.passwords import Passwords
from modelport.auth.service import TokenService
from modelport.auth.users import UserService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db import migrate
from modelport.db.engine import Database
from modelport.db.files import private_folder
from modelport.db.tables import ApiToken, User
from modelport.errors import ModelportError, NotFound

T = TypeVar("T")
FIRST_STEP = "start the hub (`modelport serve`) or run `modelport db upgrade` first"


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


def where(settings: Settings) -> str:
    """The database, as the operator would name it: the SQLite file, or the URL without
    its password."""
    url = make_url(settings.sqlalchemy_url)
    if settings.is_sqlite:
        return url.database or ":memory:"
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


@asynccontextmanager
async def _database(settings: Settings, *, create: bool = False) -> AsyncIterator[Database]:
    """The configured database; unless `create`, it must exist and be at the newest migration."""
    if settings.is_sqlite:
        if not create:
            _refuse_no_sqlite_file(settings)
        private_folder(settings.data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        if not create:
            await _require_head(settings, database)
        yield database
    finally:
        await database.dispose()


def _digester(settings: Settings) -> Digester:
    """The digester, for a database that exists: a generated secret is made only with the
    database it belongs to."""
    if settings.is_sqlite:
        _refuse_no_sqlite_file(settings)
    return Digester(settings.server_secret())


def _refuse_no_sqlite_file(settings: Settings) -> None:
    """ValueError if the SQLite file is missing (opening it would create an empty one)."""
    sqlite_file = make_url(settings.sqlalchemy_url).database
    if sqlite_file and sqlite_file != ":memory:" and not Path(sqlite_file).exists():
        raise ValueError(
            f"there is no database at {sqlite_file}: give the hub's --data-dir (or "
            f"MODELPORT_DATABASE_URL); for a new install, {FIRST_STEP}"
        )


async def _require_head(settings: Settings, database: Database) -> None:
    at, newest = await migrate.current(database), migrate.head()
    if at is None:
        raise ValueError(f"the database {where(settings)} holds no modelport tables: {FIRST_STEP}")
    if at != newest:
        raise ValueError(
            f"the database {where(settings)} is at migration {at}, this modelport needs "
            f"{newest}: run `modelport db upgrade`"
        )


async def create_token(
    settings: Settings, name: str, team_name: str, read_only: bool, new_team: bool
) -> str:
    """A new API token for the team, which must exist unless `new_team`.

    The server secret is checked before the database is touched: a shared database without
    MODELPORT_SECRET is refused.
    """
    digester = _digester(settings)
    async with _database(settings) as database, database.write() as unit:
        service = TokenService(unit, digester)
        try:
            team = await service.team(team_name, create=new_team)
        except NotFound:
            raise ValueError(
                f"no team named {team_name!r} in {where(settings)}: check the name, or give "
                "--new-team to create it"
            ) from None
        _, secret = await service.issue(team, name, read_only=read_only, created_by="cli")
    return secret


async def list_tokens(settings: Settings, team_name: str) -> list[ApiToken]:
    """The team's live tokens, newest first."""
    digester = _digester(settings)
    async with _database(settings) as database, database.read() as unit:
        service = TokenService(unit, digester)
        return await service.list((await service.team(team_name)).id)


async def revoke_token(settings: Settings, team_name: str, token_id: str) -> None:
    """Revoke one of the team's tokens: the hub refuses it from its next request on."""
    try:
        wanted = uuid.UUID(token_id)
    except ValueError:
        raise ValueError(f"{token_id!r} is not a token id (see `modelport tokens list`)") from None
    digester = _digester(settings)
    async with _database(settings) as database, database.write() as unit:
        service = TokenService(unit, digester)
        await service.revoke((await service.team(team_name)).id, wanted)


async def create_user(
    settings: Settings, email: str, team_name: str, role: str, password: str
) -> None:
    """A control panel user in the team (created if need be)."""
    async with _database(settings) as database, database.write() as unit:
        people = UserService(unit, Passwords())
        team = await people.team(team_name)
        await people.create(team, email, password, parse_role(role), created_by="cli")


async def list_users(settings: Settings, team_name: str) -> list[User]:
    """The team's users, by email."""
    async with _database(settings) as database, database.read() as unit:
        people = UserService(unit, Passwords())
        return await people.of_team((await people.team(team_name, create=False)).id)


async def upgrade(settings: Settings) -> tuple[str | None, str]:
    """Bring the database to the newest migration, creating it if need be: before and after."""
    async with _database(settings, create=True) as database:
        before = await migrate.current(database)
        await migrate.upgrade_to_head(database)
        return before, migrate.head()


async def current(settings: Settings) -> str | None:
    """The migration the database is at (None: empty); it must exist."""
    if settings.is_sqlite:
        _refuse_no_sqlite_file(settings)
    database = Database(settings.sqlalchemy_url)
    try:
        return await migrate.current(database)
    finally:
        await database.dispose()


async def require_head(settings: Settings) -> None:
    """ValueError unless the database exists and is at the newest migration."""
    async with _database(settings):
        pass
