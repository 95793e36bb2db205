"""Commands that work on the database directly: `serve`, `tokens create` and `users create`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.config import Settings
from modelport.db.files import private_folder
from modelport.logs import configure_logging

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default: ./.modelport).")
]

tokens = typer.Typer(no_args_is_help=True, help="Control-plane API tokens.")
users = typer.Typer(no_args_is_help=True, help="Control panel users.")


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
    from modelport.cli.server import CLEANUP_SECONDS, DrainingServer

    settings = settings_with(host=host, port=port, data_dir=data_dir)
    private_folder(settings.data_dir)
    configure_logging(settings.log_level, settings.log_file, settings.log_format)
    try:
        app = create_app(settings)
    except ValueError as exc:
        typer.echo(f"modelport: {exc}", err=True)
        raise typer.Exit(2) from None
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        # The drain has already waited for requests; this is for connections still closing.
        timeout_graceful_shutdown=int(CLEANUP_SECONDS),
    )
    DrainingServer(config, app.state.components.drain).run()


@tokens.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. ci.")],
    team: Annotated[str, typer.Option(help="The team it acts for.")] = "default",
    read_only: Annotated[bool, typer.Option("--read-only", help="List only; no writes.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Print a new API token on stdout, and nothing else. It is shown only this once."""
    settings = settings_with(data_dir=data_dir)
    configure_logging("warning", settings.log_file, settings.log_format)
    from modelport.cli import database  # not at the top: API commands start without it

    secret = database.run(database.create_token(settings, name, team, read_only))
    typer.echo(secret)


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
    configure_logging("warning", settings.log_file, settings.log_format)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from modelport.cli import database  # not at the top: API commands start without it

    database.run(database.create_user(settings, email, team, role, password))
    typer.echo(f"created {email.strip().lower()} ({role}) in team {team}")


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.add_typer(tokens, name="tokens")
    app.add_typer(users, name="users")
