"""`modelport tokens ...` and `modelport users ...`: work on the database directly.

They are how the first API token and the first users are made, before any client can call
the API; they read the same settings as `serve` (`--data-dir`, `MODELPORT_DATABASE_URL`).
The `database` module is imported inside each command: API commands start without it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from modelport.cli.local import DataDir, admin_settings
from modelport.cli.output import (
    FormatOption,
    NoHeaderOption,
    Output,
    OutputOption,
    View,
    show,
)

tokens = typer.Typer(no_args_is_help=True, help="Control-plane API tokens (on the database).")
users = typer.Typer(no_args_is_help=True, help="Control panel users (on the database).")

TOKEN_COLUMNS = ("id", "name", "access", "created_at", "created_by")
USER_COLUMNS = ("id", "email", "role", "created_at", "created_by")
TeamOption = Annotated[str, typer.Option(help="The team.")]


@tokens.command("create")
def create_token(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. ci.")],
    team: Annotated[str, typer.Option(help="The team it acts for.")] = "default",
    new_team: Annotated[
        bool, typer.Option("--new-team", help="Create the team if there is none of that name.")
    ] = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="List only; no writes.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Print a new API token on stdout, and nothing else. It is shown only this once.

    The database must exist (the hub made it, or `modelport db upgrade`), and so must the
    team unless --new-team is given.
    """
    settings = admin_settings(data_dir)
    from modelport.cli import database

    secret = database.run(database.create_token(settings, name, team, read_only, new_team))
    typer.echo(secret)


@tokens.command("list")
def list_tokens(
    team: TeamOption = "default",
    data_dir: DataDir = None,
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """List the team's live tokens, newest first (never their secrets)."""
    settings = admin_settings(data_dir)
    from modelport.cli import database

    found = database.run(database.list_tokens(settings, team))
    rows = [
        {
            "id": str(t.id),
            "name": t.name,
            "access": "read-only" if t.read_only else "read-write",
            "created_at": t.created_at.isoformat(),
            "created_by": t.created_by,
        }
        for t in found
    ]
    show(View(output, fields, not no_header), {"tokens": rows}, rows, TOKEN_COLUMNS)


@tokens.command("revoke")
def revoke_token(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (tokens list).")],
    team: TeamOption = "default",
    data_dir: DataDir = None,
) -> None:
    """Revoke a token: the hub refuses it from its next request on."""
    settings = admin_settings(data_dir)
    from modelport.cli import database

    database.run(database.revoke_token(settings, team, token_id))
    typer.echo(f"revoked token {token_id}", err=True)


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
    settings = admin_settings(data_dir)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from modelport.cli import database

    database.run(database.create_user(settings, email, team, role, password))
    typer.echo(f"created {email.strip().lower()} ({role}) in team {team}")


@users.command("list")
def list_users(
    team: TeamOption = "default",
    data_dir: DataDir = None,
    output: OutputOption = Output.text,
    fields: FormatOption = None,
    no_header: NoHeaderOption = False,
) -> None:
    """List the team's control panel users, by email."""
    settings = admin_settings(data_dir)
    from modelport.cli import database

    found = database.run(database.list_users(settings, team))
    rows = [
        {
            "id": str(u.id),
            "email": u.email,
            "role": u.role,
            "created_at": u.created_at.isoformat(),
            "created_by": u.created_by,
        }
        for u in found
    ]
    show(View(output, fields, not no_header), {"users": rows}, rows, USER_COLUMNS)
