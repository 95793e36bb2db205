"""PostgreSQL connections the server dropped while pooled: replaced, or a clean 503 once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text

from modelport.db import engine
from modelport.db.engine import Database
from modelport.errors import StorageUnavailable
from tests.support.databases import PG_ADMIN_URL, create_pg_database, drop_pg_database


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    url = await create_pg_database()
    served = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=1)
    yield served
    await served.dispose()
    await drop_pg_database(url)


async def _backend(database: Database) -> int:
    async with database.read() as unit:
        return int((await unit.session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(pid: int) -> None:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_a_connection_dropped_while_idle_is_checked_and_replaced(database: Database) -> None:
    first = await _backend(database)
    await _terminate(first)
    await asyncio.sleep(engine.PING_AFTER_IDLE_SECONDS + 0.2)
    second = await _backend(database)  # the check finds it dead: a new connection serves
    assert second != first


async def test_one_dropped_within_the_idle_second_is_a_503_then_replaced(
    database: Database,
) -> None:
    first = await _backend(database)
    await _terminate(first)
    await asyncio.sleep(0.05)
    with pytest.raises(StorageUnavailable):  # not checked (it worked just now): its statement fails
        await _backend(database)
    assert await _backend(database) != first
