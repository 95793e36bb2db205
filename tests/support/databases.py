"""Real databases for tests: a fresh PostgreSQL database per run, or a SQLite file.

PostgreSQL is expected on 127.0.0.1:5432 with trust auth. If it cannot be reached the tests
fail loudly; they never skip.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import asyncpg
from sqlalchemy import insert

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.migrate import upgrade_to_head
from modelport.db.tables import ModelKey, Team

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
PG_ADMIN_URL = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/test"


async def create_pg_database() -> str:
    """A new empty database; its plain `postgresql://` URL, as users would give it."""
    name = "mp_test_" + secrets.token_hex(6)
    try:
        connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    except OSError as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}; the storage tests need it"
        ) from exc
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def dump(database_url: str) -> str:
    """Everything the database holds, as SQL text."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with sqlite3.connect(path) as connection:
            return "\n".join(connection.iterdump())
    result = subprocess.run(
        ["pg_dump", "--data-only", "--inserts", database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'modelport.db'}"


@asynccontextmanager
async def migrated_sqlite(folder: Path) -> AsyncIterator[Database]:
    """A SQLite database in `folder` at the schema's head, disposed after."""
    database = Database(Settings(database_url=sqlite_url(folder)).sqlalchemy_url)
    await upgrade_to_head(database)
    try:
        yield database
    finally:
        await database.dispose()


async def team_and_key(database: Database, when: datetime) -> tuple[uuid.UUID, uuid.UUID]:
    """A new team and a model key of it, written straight to `database` (created `when`):
    what a storage test needs rows of its own to refer to."""
    team, key = uuid.uuid4(), uuid.uuid4()
    # Core inserts that name only these columns: the tests run them on older schemas too,
    # where a column a later migration adds does not exist yet.
    async with database.write() as unit:
        await unit.session.execute(
            insert(Team).values(id=team, name="t-" + team.hex[:12], created_at=when)
        )
        await unit.session.execute(
            insert(ModelKey).values(
                id=key,
                team_id=team,
                name="k",
                digest=key.bytes * 2,
                hint="abcd",
                models=None,
                created_at=when,
                created_by="test",
            )
        )
    return team, key
