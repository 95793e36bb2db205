"""A unit of work's hooks: after-commit ones only once committed, after-end ones also once
rolled back (and only then, the rollback done), in the order they were registered; neither
when the commit itself fails, which may have happened (on a real SQLite file)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.uow import UnitOfWork
from tests.support.databases import sqlite_url


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=sqlite_url(tmp_path)).sqlalchemy_url)
    async with database.write() as unit:
        await unit.session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        await unit.session.execute(
            text("CREATE TABLE c (n INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED)")
        )
    yield database
    await database.dispose()


def _file(database: Database) -> str:
    path = database.engine.url.database
    assert path is not None
    return path


def _register(unit: UnitOfWork, ran: list[str], see: Callable[[], str]) -> None:
    unit.after_end(lambda: ran.append("end 1 " + see()))
    unit.after_commit(lambda: ran.append("commit"))
    unit.after_end(lambda: ran.append("end 2"))


def _seen_now(database: Database) -> Callable[[], str]:
    """What a new write transaction sees, right now: the write lock must be free."""

    def see() -> str:
        with sqlite3.connect(_file(database), timeout=0, isolation_level=None) as connection:
            connection.execute("BEGIN IMMEDIATE")
            rows = connection.execute("SELECT count(*) FROM t").fetchone()[0]
            connection.execute("ROLLBACK")
        return f"rows={rows}"

    return see


async def test_a_commit_runs_every_hook_in_order(database: Database) -> None:
    ran: list[str] = []
    async with database.write() as unit:
        await unit.session.execute(text("INSERT INTO t VALUES (1)"))
        _register(unit, ran, _seen_now(database))
    assert ran == ["end 1 rows=1", "commit", "end 2"]


async def test_a_rollback_runs_the_after_end_hooks_once_it_is_done(database: Database) -> None:
    ran: list[str] = []

    async def refused() -> None:
        async with database.write() as unit:
            await unit.session.execute(text("INSERT INTO t VALUES (1)"))
            _register(unit, ran, _seen_now(database))
            raise LookupError("refused")

    with pytest.raises(LookupError):
        await refused()
    assert ran == ["end 1 rows=0", "end 2"], "after the rollback: lock free, the old state"


async def test_a_failed_commit_runs_no_hook(database: Database) -> None:
    ran: list[str] = []

    async def dangling() -> None:
        async with database.write() as unit:
            await unit.session.execute(text("INSERT INTO c VALUES (7)"))
            _register(unit, ran, lambda: "")

    with pytest.raises(IntegrityError):  # the deferred foreign key, checked by COMMIT
        await dangling()
    assert ran == []
