"""A PostgreSQL that accepts connections and never answers is a quick 503, not a hang."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text

from modelport.db import engine
from modelport.db.engine import Database
from modelport.errors import StorageUnavailable


async def test_a_silent_server_is_unavailable_within_the_connect_timeout() -> None:
    held: list[asyncio.StreamWriter] = []

    async def swallow(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, read nothing, answer nothing

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    database = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/silent")
    started = time.monotonic()
    try:
        with pytest.raises(StorageUnavailable):
            async with database.read() as unit:
                await unit.session.execute(text("SELECT 1"))
    finally:
        elapsed = time.monotonic() - started
        await database.dispose()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert elapsed < engine.CONNECT_TIMEOUT + 3
