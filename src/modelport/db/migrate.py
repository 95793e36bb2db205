"""Alembic migrations, run at start. Safe when several replicas start at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.exc import InterfaceError, OperationalError

from modelport.db.engine import UNAVAILABLE, Database
from modelport.errors import StorageUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same in every replica.
_PG_MIGRATION_LOCK = 0x6D6F64656C706F72


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
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
