"""The purge of expired responses, and its background runner, on databases of their own (a
purge deletes every team's expired rows, so counts are exact only where nothing else writes)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from modelport.config import Settings
from modelport.conversations.purge import ResponsePurger
from modelport.conversations.service import ConversationService
from modelport.core.clock import utcnow
from modelport.db.engine import Database
from modelport.db.migrate import upgrade_to_head
from modelport.db.tables import StoredResponse, StoredResponseItem
from tests.conversations.helpers import NOW, Owner, answer, new_owner, response, save, user
from tests.support.databases import create_pg_database, drop_pg_database, sqlite_url

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
async def module_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Database]:
    """A fresh database of this backend, migrated, for this module alone."""
    folder = tmp_path_factory.mktemp("purge")
    url = sqlite_url(folder) if backend == "sqlite" else await create_pg_database()
    database = Database(Settings(database_url=url).sqlalchemy_url)
    await upgrade_to_head(database)
    yield database
    await database.dispose()
    if backend != "sqlite":
        await drop_pg_database(url)


@pytest.fixture
async def private(module_database: Database) -> Database:
    """The module's database with no stored response in it."""
    async with module_database.write() as unit:
        await unit.session.execute(delete(StoredResponse))
    return module_database


async def rows(database: Database) -> tuple[int, int]:
    """(responses, input items) stored, over every team."""
    async with database.read() as unit:
        responses = await unit.session.scalar(select(func.count()).select_from(StoredResponse))
        items = await unit.session.scalar(select(func.count()).select_from(StoredResponseItem))
    return int(responses or 0), int(items or 0)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.02)


async def test_purge_removes_exactly_the_expired_responses_and_their_items(
    private: Database,
) -> None:
    mine, theirs = await new_owner(private), await new_owner(private)
    cutoff = NOW + DAY * 2
    for owner, retention, items in [
        (mine, DAY, [user("q")]),
        (mine, DAY * 2, [user("q")]),  # expiring at the cutoff itself is expired
        (theirs, DAY, [user("q"), user("r")]),
    ]:
        await save(private, owner, response(answer("gone")), items, retention=retention)
    kept = [
        (
            mine,
            await save(
                private,
                mine,
                response(answer("kept")),
                [user("q")],
                retention=DAY * 2 + timedelta(microseconds=1),
            ),
        ),
        (theirs, await save(private, theirs, response(answer("kept")), [], retention=DAY * 3)),
    ]
    assert await rows(private) == (5, 5)
    async with private.write() as unit:
        assert await ConversationService(unit).purge(cutoff) == 3
    assert await rows(private) == (2, 1)
    async with private.read() as unit:
        service = ConversationService(unit)
        for owner, response_id in kept:
            assert await service.get(owner.team_id, response_id, NOW)


async def test_purge_goes_in_batches_of_the_oldest_first(private: Database) -> None:
    owner = await new_owner(private)
    for n in range(5):
        await save(private, owner, response(answer("x")), [user("q")], retention=DAY * (n + 1))
    async with private.write() as unit:
        assert await ConversationService(unit).purge(NOW + DAY * 10, limit=2) == 2
    async with private.read() as unit:
        left = await unit.session.scalars(select(StoredResponse.expires_at))
        assert sorted(left) == [NOW + DAY * n for n in (3, 4, 5)]
    async with private.write() as unit:
        assert await ConversationService(unit).purge(NOW + DAY * 10, limit=2) == 2
        assert await ConversationService(unit).purge(NOW + DAY * 10, limit=2) == 1
        assert await ConversationService(unit).purge(NOW + DAY * 10, limit=2) == 0


async def expired_and_live(database: Database, owner: Owner, expired: int) -> None:
    """`expired` responses that expired a day ago, and one that lives a day more, as of now."""
    for when, count in ((utcnow() - DAY * 2, expired), (utcnow(), 1)):
        for _ in range(count):
            await save(database, owner, response(answer("a")), [user("q")], now=when, retention=DAY)


async def test_the_purger_purges_at_start_in_batches_then_every_round(
    private: Database, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await new_owner(private)
    await expired_and_live(private, owner, expired=5)
    purger = ResponsePurger(private, every=0.05, batch=2)
    with caplog.at_level(logging.INFO, logger="modelport.conversations"):
        await purger.start()
        try:
            await eventually(lambda: _counts(private, (1, 1)))
            await expired_and_live(private, owner, expired=1)
            await eventually(lambda: _counts(private, (2, 2)))
        finally:
            await purger.close()
    purged = [r.__dict__["responses"] for r in caplog.records if r.message.startswith("expired")]
    assert purged[0] == 5
    assert sum(purged) == 6


async def _counts(database: Database, expected: tuple[int, int]) -> bool:
    return await rows(database) == expected


async def test_the_purger_survives_a_database_outage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "not yet"
    database = Database(Settings(database_url=sqlite_url(folder)).sqlalchemy_url)
    purger = ResponsePurger(database, every=0.05)
    with caplog.at_level(logging.INFO, logger="modelport.conversations"):
        await purger.start()
        try:
            await eventually(lambda: _warned(caplog, times=2))
            folder.mkdir()  # the database comes back
            await upgrade_to_head(database)
            await expired_and_live(database, await new_owner(database), expired=3)
            await eventually(lambda: _counts(database, (1, 1)))
        finally:
            await purger.close()
            await database.dispose()
    [warning, *_] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.__dict__["error"] == "StorageUnavailable"


async def _warned(caplog: pytest.LogCaptureFixture, *, times: int) -> bool:
    return sum(r.levelno == logging.WARNING for r in caplog.records) >= times


async def test_closing_the_purger_stops_it_at_once(private: Database) -> None:
    purger = ResponsePurger(private)  # hourly: it is asleep after the first round
    await purger.start()
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await purger.close()
    assert time.monotonic() - started < 1
    await purger.close()  # a second close is harmless
