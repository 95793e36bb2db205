"""The SQLite writer stores usage rows exactly as the ORM session does.

The recorder writes rows on SQLite through `Database.write_now` (on the event loop's thread,
or `write_in_thread` when another connection holds the write lock) and SQLite's own driver;
reports read them through SQLAlchemy. Both must see the same values, stored the same way, a
request id already recorded is still skipped, and a held lock never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import make_url, select, text

from modelport.db.engine import Database
from modelport.db.tables import UsageRecord
from modelport.errors import StorageUnavailable
from modelport.usage.recorder import UsageRecorder
from modelport.usage.repository import UsageRepository, insert_once_sqlite
from modelport.usage.row import UsageRow
from tests.support.databases import migrated_sqlite, team_and_key

WHEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_sqlite(tmp_path) as database:
        yield database


async def _key(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    return await team_and_key(database, WHEN)


def _row(team: uuid.UUID, key: uuid.UUID, request_id: str, estimated: bool) -> UsageRow:
    return UsageRow(request_id, team, key, "m-1", 11, 7, 123_456, "ok", estimated, 42, WHEN)


async def test_both_ways_store_the_same_values_the_same_way(database: Database) -> None:
    team, key = await _key(database)
    async with database.write() as unit:
        await UsageRepository(unit.session).insert_once([_row(team, key, "by-session", True)])
    await database.write_in_thread(
        partial(insert_once_sqlite, rows=[_row(team, key, "by-thread", True)])
    )
    async with database.read() as unit:
        stored = (await unit.session.execute(text("SELECT * FROM usage_records"))).all()
        rows = (await unit.session.scalars(select(UsageRecord))).all()
    as_stored = {r.request_id: tuple(r)[2:] for r in stored}  # past id and request id
    assert as_stored["by-thread"] == as_stored["by-session"]
    read = {r.request_id: r for r in rows}
    assert read["by-thread"].created_at == WHEN
    assert (read["by-thread"].team_id, read["by-thread"].key_id) == (team, key)
    assert read["by-thread"].estimated is True


async def test_a_request_id_already_recorded_is_skipped(database: Database) -> None:
    team, key = await _key(database)
    write = partial(insert_once_sqlite, rows=[_row(team, key, "once", False)])
    await database.write_in_thread(write)
    await database.write_in_thread(write)
    async with database.read() as unit:
        count = (await unit.session.execute(text("SELECT count(*) FROM usage_records"))).one()
    assert count[0] == 1


async def test_a_failed_transaction_is_unavailable_and_writes_nothing(database: Database) -> None:
    team, key = await _key(database)

    def half_then_fail(connection: sqlite3.Connection) -> None:
        insert_once_sqlite(connection, [_row(team, key, "half", False)])
        insert_once_sqlite(connection, [_row(uuid.uuid4(), key, "no team", False)])

    with pytest.raises(StorageUnavailable):
        await database.write_in_thread(half_then_fail)
    await database.write_in_thread(partial(insert_once_sqlite, rows=[_row(team, key, "x", False)]))
    async with database.read() as unit:
        ids = (await unit.session.scalars(select(UsageRecord.request_id))).all()
    assert ids == ["x"], "the failed transaction was rolled back; the next one works"


async def test_a_held_write_lock_sends_the_write_to_the_thread_and_never_stalls_the_loop(
    database: Database,
) -> None:
    team, key = await _key(database)
    await database.write_now(partial(insert_once_sqlite, rows=[_row(team, key, "free", False)]))
    path = make_url(database.url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        write = asyncio.create_task(
            database.write_now(partial(insert_once_sqlite, rows=[_row(team, key, "held", False)]))
        )
        started = time.monotonic()
        await asyncio.sleep(0.3)
        assert time.monotonic() - started < 1.5, "the loop waited on the lock"
        assert not write.done(), "it waits, on the writer thread, for the lock"
        holder.execute("COMMIT")
    finally:
        holder.close()
    await asyncio.wait_for(write, 10)
    async with database.read() as unit:
        ids = (await unit.session.scalars(select(UsageRecord.request_id))).all()
    assert sorted(ids) == ["free", "held"]


async def test_a_backlog_drains_without_holding_the_loop(database: Database) -> None:
    """Rows pile up while another connection holds the write lock (a backup, a long
    transaction); once it lets go, the recorder writes them all, and the loop keeps turning
    meanwhile: a big batch commits on the writer thread, not on the loop."""
    team, key = await _key(database)
    recorder = UsageRecorder(database)
    await recorder.start()
    path = make_url(database.url).database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        for number in range(20_000):
            recorder.submit(_row(team, key, f"r{number}", False))
        await asyncio.sleep(0.3)
        gaps: list[float] = []

        async def tick() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(tick())
        holder.execute("COMMIT")
    finally:
        holder.close()
    deadline = time.monotonic() + 30
    while recorder.backlog and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    ticking.cancel()
    await recorder.close()
    assert recorder.backlog == 0
    async with database.read() as unit:
        stored = (await unit.session.execute(text("SELECT count(*) FROM usage_records"))).scalar()
    assert stored == 20_000
    assert max(gaps) < 0.1, f"the loop was held {max(gaps) * 1000:.0f} ms in one go"
