"""Read units: on PostgreSQL no transaction is held around or between their statements (one
round trip each, and no connection left idle in a transaction while the caller works); on
SQLite one snapshot for all their statements. Write units stay one transaction on both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.uow import UnitOfWork
from tests.support.databases import create_pg_database, drop_pg_database, sqlite_url


@pytest.fixture
async def postgres() -> AsyncIterator[tuple[Database, str]]:
    url = await create_pg_database()
    served = Database(Settings(database_url=url).sqlalchemy_url, pool_size=1)
    yield served, url
    await served.dispose()
    await drop_pg_database(url)


async def _state(url: str, unit: UnitOfWork) -> str:
    """What PostgreSQL says the unit's connection is doing, asked from another connection."""
    pid = (await unit.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    admin = await asyncpg.connect(url)
    try:
        state = await admin.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
    finally:
        await admin.close()
    return str(state)


@pytest.mark.parametrize(
    ("writes", "state"), [(False, "idle"), (True, "idle in transaction")], ids=["read", "write"]
)
async def test_on_postgresql_only_a_write_unit_holds_a_transaction(
    postgres: tuple[Database, str], writes: bool, state: str
) -> None:
    database, url = postgres
    async with database.write() if writes else database.read() as unit:
        assert await _state(url, unit) == state


async def test_a_read_unit_on_sqlite_reads_one_snapshot(tmp_path: Path) -> None:
    database = Database(Settings(database_url=sqlite_url(tmp_path)).sqlalchemy_url)
    try:
        async with database.write() as unit:
            await unit.session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        async with database.read() as unit:
            count = text("SELECT count(*) FROM t")
            assert (await unit.session.execute(count)).scalar_one() == 0
            async with database.write() as other:
                await other.session.execute(text("INSERT INTO t VALUES (1)"))
            assert (await unit.session.execute(count)).scalar_one() == 0
        async with database.read() as unit:
            assert (await unit.session.execute(count)).scalar_one() == 1
    finally:
        await database.dispose()
