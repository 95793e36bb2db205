"""SQLite's connections take one trip to their thread per statement, and behave as before.

`db/sqlite_driver.py` runs a statement, fetches its rows and closes its cursor in one trip,
sends a BEGIN with the first statement after it, and skips the pool's rollback when no
transaction is open. Here: the trips a unit of work takes, and what a failed statement, a
rolled-back unit and a batch of rows still do.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from modelport.core.clock import utcnow
from modelport.db.engine import Database
from modelport.db.tables import Team
from tests.support.databases import migrated_sqlite


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_sqlite(tmp_path) as database:
        yield database


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each call a connection hands to its thread, in order."""
    taken: list[str] = []
    hand_over = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        taken.append(getattr(fn, "__name__", repr(fn)))
        return await hand_over(self, fn, *args)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return taken


def _team() -> dict[str, object]:
    return {"id": uuid.uuid4(), "name": f"t-{uuid.uuid4().hex[:8]}", "created_at": utcnow()}


async def _teams(database: Database) -> int:
    async with database.read() as unit:
        return int((await unit.session.execute(text("SELECT count(*) FROM teams"))).scalar_one())


async def test_a_unit_of_work_is_one_trip_per_statement_and_one_for_its_commit(
    database: Database, trips: list[str]
) -> None:
    await _teams(database)  # the pool holds a connection from here on
    trips.clear()
    async with database.write() as unit:  # BEGIN IMMEDIATE goes with the first statement
        await unit.session.execute(insert(Team), _team())
        await unit.session.execute(text("SELECT count(*) FROM teams"))
    assert trips == ["_run", "_run", "commit"]  # and no rollback as the connection goes back


async def _second_insert_fails(database: Database, taken: object) -> None:
    async with database.write() as unit:
        await unit.session.execute(insert(Team), _team())
        await unit.session.execute(insert(Team), {**_team(), "id": taken})


async def test_a_failed_statement_raises_and_its_unit_writes_nothing(database: Database) -> None:
    team = _team()
    async with database.write() as unit:
        await unit.session.execute(insert(Team), team)
    before = await _teams(database)
    with pytest.raises(IntegrityError):
        await _second_insert_fails(database, team["id"])
    assert await _teams(database) == before


async def _insert_then_raise(database: Database) -> None:
    async with database.write() as unit:
        await unit.session.execute(insert(Team), _team())
        raise RuntimeError


async def test_a_unit_that_raises_is_rolled_back(database: Database, trips: list[str]) -> None:
    before = await _teams(database)
    with pytest.raises(RuntimeError):
        await _insert_then_raise(database)
    assert "rollback" in trips
    assert await _teams(database) == before


async def test_many_rows_at_once_and_a_transaction_with_no_statement(database: Database) -> None:
    before = await _teams(database)
    async with database.write() as unit:
        await unit.session.execute(insert(Team), [_team() for _ in range(3)])
    async with database.write():
        pass  # its BEGIN never went to SQLite: nothing to commit
    assert await _teams(database) == before + 3


async def test_rows_come_back_whole(database: Database) -> None:
    before = await _teams(database)
    async with database.write() as unit:
        await unit.session.execute(insert(Team), [_team() for _ in range(150)])
    async with database.read() as unit:
        rows = (await unit.session.execute(text("SELECT id FROM teams"))).all()
    assert len(rows) == before + 150  # more than aiosqlite's chunk of 64
