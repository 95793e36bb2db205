"""`modelport db ...`: the database's migrations, for deployments that run them as a step
of their own (then `serve --no-migrate`)."""

from __future__ import annotations

import typer

from modelport.cli.local import DataDir, admin_settings

app = typer.Typer(no_args_is_help=True, help="Database migrations (Alembic).")


@app.command("upgrade")
def upgrade(data_dir: DataDir = None) -> None:
    """Bring the database to the newest migration (creating a SQLite database if need be).

    Safe while replicas start: they wait on the same lock. Run it before starting the
    new version's replicas.
    """
    settings = admin_settings(data_dir)
    from modelport.cli import database

    before, after = database.run(database.upgrade(settings))
    where = database.where(settings)
    if before == after:
        typer.echo(f"{where} is at {after} (the newest): nothing to do")
    else:
        typer.echo(f"{where}: upgraded from {before or 'an empty database'} to {after}")


@app.command("current")
def current(data_dir: DataDir = None) -> None:
    """Print the database's migration, and whether it is the newest. Exit 1 if it is not."""
    settings = admin_settings(data_dir)
    from modelport.cli import database
    from modelport.db import migrate

    at, newest = database.run(database.current(settings)), migrate.head()
    if at == newest:
        typer.echo(f"{at} (head)")
        return
    typer.echo(f"{at or 'none'} (the newest is {newest}: run `modelport db upgrade`)")
    raise typer.Exit(1)


@app.command("history")
def history() -> None:
    """List this version's migrations, newest first."""
    from modelport.db import migrate

    for revision in migrate.history():
        typer.echo(f"{revision.down or '<base>'} -> {revision.id}  {revision.summary}")
