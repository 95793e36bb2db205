"""Commands that work on the data folder and the database directly: `serve`, `tokens`,
`users` and `db`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from modelport.config import MAX_WORKERS, Settings, describe
from modelport.db.files import private_folder
from modelport.logs import configure_logging

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data folder (default: ./.modelport).")
]


def settings_with(**overrides: Any) -> Settings:
    """Settings from the environment, with the command line's options on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        typer.echo(f"modelport: bad setting: {describe(exc)}", err=True)
        raise typer.Exit(2) from None


def admin_settings(data_dir: Path | None) -> Settings:
    """The settings of a command on the database, which logs only warnings."""
    settings = settings_with(data_dir=data_dir)
    logging_to(settings, "warning")
    return settings


def logging_to(settings: Settings, level: str) -> None:
    """Logging as the settings say; a log file that cannot be opened stops the command."""
    try:
        configure_logging(level, settings.log_file, settings.log_format)
    except OSError as exc:
        typer.echo(
            f"modelport: cannot open the log file {settings.log_file}: {exc.strerror}", err=True
        )
        raise typer.Exit(2) from None


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate/--no-migrate",
            help="Bring the database to the newest migration first; with --no-migrate, "
            "refuse to start unless `modelport db upgrade` already did.",
        ),
    ] = True,
    workers: Annotated[
        str | None,
        typer.Option(
            help="Processes serving the port: a number, or auto for one per core "
            "(MODELPORT_WORKERS; default 1).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the hub: the /v2 API, the /v1 endpoints and the control panel."""
    if workers is not None:
        _check_workers(workers)
    settings = settings_with(host=host, port=port, data_dir=data_dir, workers=workers)
    from modelport.app import create_app
    from modelport.cli.server import DrainingServer, uvicorn_config

    private_folder(settings.data_dir)
    logging_to(settings, settings.log_level)
    if not migrate:
        from modelport.cli import database

        database.run(database.require_head(settings))
    try:
        app = create_app(settings, migrate=migrate)
    except ValueError as exc:
        typer.echo(f"modelport: {exc}", err=True)
        raise typer.Exit(2) from None
    if settings.workers > 1:
        _serve_workers(settings, app)
        return
    DrainingServer(uvicorn_config(app, settings), app.state.components.drain).run()


def _check_workers(value: str) -> None:
    """Refuse a bad `--workers` in one line that names the option (not the variable)."""
    text = value.strip().lower()
    if text != "auto" and not (text.isdigit() and 1 <= int(text) <= MAX_WORKERS):
        typer.echo(
            f"modelport: --workers must be a number from 1 to {MAX_WORKERS}, or auto "
            f"(got {value!r})",
            err=True,
        )
        raise typer.Exit(2)


def _serve_workers(settings: Settings, app: Any) -> None:
    """The parent of `--workers N`: the app's lifespan runs here once (migration, unless
    `--no-migrate` had `serve` check the database is at the head already; setup link) and its
    resources close; then the workers serve (`cli/workers.py`)."""
    import asyncio

    from modelport.cli.server import uvicorn_config
    from modelport.cli.workers import SharedStateFailed, supervise

    asyncio.run(_start_and_stop(app))
    try:
        sock = uvicorn_config(app, settings).bind_socket()
    except SystemExit:
        raise typer.Exit(1) from None  # uvicorn logged why (the port is taken)
    try:
        code = supervise(settings, sock)
    except SharedStateFailed as exc:
        typer.echo(f"modelport: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(code)


async def _start_and_stop(app: Any) -> None:
    async with app.router.lifespan_context(app):
        pass


def register(app: typer.Typer) -> None:
    from modelport.cli import admin, schema

    app.command()(serve)
    app.add_typer(admin.tokens, name="tokens")
    app.add_typer(admin.users, name="users")
    app.add_typer(schema.app, name="db")
