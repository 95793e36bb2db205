"""Alembic migrations, run at start (or by `modelport db upgrade`). Safe when several
replicas start at once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import InterfaceError, OperationalError

from modelport.db.engine import UNAVAILABLE, Database
from modelport.errors import StorageUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every replica.
_PG_MIGRATION_LOCK = 0x6D6F64656C706F72


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | None
    summary: str
    """The first line of the migration's docstring."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The newest migration this version of modelport has."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None, "no migrations"
    return found


def history() -> list[Revision]:
    """Every migration, newest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [
        Revision(
            str(s.revision),
            s.down_revision if isinstance(s.down_revision, str) else None,
            (s.doc or "").strip().splitlines()[0] if s.doc else "",
        )
        for s in scripts.walk_revisions()
    ]


async def current(database: Database) -> str | None:
    """The migration the database is at; None when it has none (an empty database)."""
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except (OperationalError, InterfaceError, OSError) as exc:
        raise StorageUnavailable(UNAVAILABLE) from exc


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if connection.dialect.name == "postgresql":
        # Replicas that start together queue here; the first migrates, the rest find it done.
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PG_MIGRATION_LOCK})
        try:
            command.upgrade(config, "head")
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_MIGRATION_LOCK})
    else:
        command.upgrade(config, "head")


async def upgrade_to_head(database: Database) -> None:
    """Bring the schema to the newest migration; raises StorageUnavailable if unreachable."""
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_upgrade)
            await connection.commit()
    except (OperationalError, InterfaceError, OSError) as exc:
        raise StorageUnavailable(UNAVAILABLE) from exc
