"""Commands that work on the database directly: `serve` and `tokens create`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.auth.service import TokenService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.db.migrate import upgrade_to_head
from modelport.errors import ModelportError
from modelport.logs import configure_logging

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default: ./.modelport).")
]

tokens = typer.Typer(no_args_is_help=True, help="Control-plane API tokens.")


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's options on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


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
    try:
        secret = asyncio.run(_create_token(settings, name, team, read_only))
    except (ModelportError, ValueError) as exc:
        typer.echo(f"modelport: {getattr(exc, 'message', exc)}", err=True)
        raise typer.Exit(1) from None
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


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(tokens, name="tokens")
