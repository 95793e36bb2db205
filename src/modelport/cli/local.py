"""Commands that work on the database directly: `serve`, `tokens create` and `users create`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import DBAPIError

from modelport.auth.member import parse_role
from modelport.auth.passwords import Passwords
from modelport.auth.service import TokenService
from modelport.auth.users import UserService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.db.migrate import upgrade_to_head
from modelport.errors import ModelportError
from modelport.logs import configure_logging

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default: ./.modelport).")
]

T = TypeVar("T")

tokens = typer.Typer(no_args_is_help=True, help="Control-plane API tokens.")
users = typer.Typer(no_args_is_help=True, help="Control panel users.")


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's options on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def on_database(work: Coroutine[Any, Any, T]) -> T:
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


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the hub: the /v2 API, the /v1 endpoints and the control panel."""
    import uvicorn

    from modelport.app import create_app

    settings = settings_with(host=host, port=port, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    configure_logging(settings.log_level, settings.log_file)
    try:
        app = create_app(settings)
    except ValueError as exc:
        typer.echo(f"modelport: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@tokens.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. ci.")],
    team: Annotated[str, typer.Option(help="The team it acts for.")] = "default",
    read_only: Annotated[bool, typer.Option("--read-only", help="List only; no writes.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Print a new API token on stdout, and nothing else. It is shown only this once."""
    settings = settings_with(data_dir=data_dir)
    configure_logging("warning", settings.log_file)
    secret = on_database(_create_token(settings, name, team, read_only))
    typer.echo(secret)


async def _create_token(settings: Settings, name: str, team_name: str, read_only: bool) -> str:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.sqlalchemy_url)
    try:
        await upgrade_to_head(database)
        async with database.write() as unit:
            service = TokenService(unit, Digester(settings.server_secret()))
            team = await service.team(team_name, create=True)
            _, secret = await service.issue(team, name, read_only=read_only, created_by="cli")
        return secret
    finally:
        await database.dispose()


@users.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="The address the user signs in with.")],
    team: Annotated[str, typer.Option(help="The team the user belongs to.")] = "default",
    role: Annotated[str, typer.Option(help="owner, member or viewer.")] = "member",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a control panel user. Without --password-stdin, asks for the password."""
    settings = settings_with(data_dir=data_dir)
    configure_logging("warning", settings.log_file)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    on_database(_create_user(settings, email, team, role, password))
    typer.echo(f"created {email.strip().lower()} ({role}) in team {team}")


async def _create_user(
    settings: Settings, email: str, team_name: str, role: str, password: str
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.sqlalchemy_url)
    try:
        await upgrade_to_head(database)
        async with database.write() as unit:
            people = UserService(unit, Passwords())
            team = await people.team(team_name)
            await people.create(team, email, password, parse_role(role), created_by="cli")
    finally:
        await database.dispose()


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(tokens, name="tokens")
    app.add_typer(users, name="users")
