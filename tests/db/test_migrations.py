"""Migrations bring a database that already holds data up to date, on SQLite and PostgreSQL,
and the newest one builds exactly the tables the code declares."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, select

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.migrate import MIGRATIONS, upgrade_to_head
from modelport.db.tables import Base, UsageRecord
from modelport.usage.repository import Bucket, UsageRepository
from tests.support.databases import create_pg_database, drop_pg_database, sqlite_url, team_and_key

WHEN = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.fixture
async def database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database of its own: migrations change the schema every test shares."""
    url = sqlite_url(tmp_path) if backend == "sqlite" else await create_pg_database()
    database = Database(Settings(database_url=url).sqlalchemy_url)
    yield database
    await database.dispose()
    if backend == "postgresql":
        await drop_pg_database(url)


async def _upgrade_to(database: Database, revision: str) -> None:
    def upgrade(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.connect() as connection:
        await connection.run_sync(upgrade)
        await connection.commit()


async def test_usage_rows_from_before_0005_get_no_token_details(database: Database) -> None:
    await _upgrade_to(database, "0004")
    team, key = await team_and_key(database, WHEN)
    async with database.write() as unit:
        # Only the columns 0004 knows: a Core insert names no others.
        await unit.session.execute(
            insert(UsageRecord).values(
                request_id="before-0005",
                team_id=team,
                key_id=key,
                model="m-1",
                prompt_tokens=11,
                completion_tokens=7,
                cost_picousd=123_456_789,
                status="ok",
                estimated=False,
                latency_ms=42,
                created_at=WHEN,
            )
        )

    await upgrade_to_head(database)

    async with database.read() as unit:
        [row] = (await unit.session.scalars(select(UsageRecord))).all()
        [bucket] = await UsageRepository(unit.session).buckets(
            team, WHEN.replace(day=1), WHEN.replace(month=12, day=1), "model"
        )
    assert (row.request_id, row.key_id, row.created_at) == ("before-0005", key, WHEN)
    assert (row.prompt_tokens, row.completion_tokens, row.cost_picousd) == (11, 7, 123_456_789)
    assert (row.cached_prompt_tokens, row.cache_write_tokens, row.reasoning_tokens) == (0, 0, 0)
    assert bucket == Bucket("m-1", 1, 11, 0, 0, 7, 0, 123_456_789)


async def test_the_newest_migration_builds_the_declared_tables(database: Database) -> None:
    await upgrade_to_head(database)
    async with database.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert differences == []
