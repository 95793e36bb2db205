"""aiosqlite connections that hand each statement to their thread once, not four times.

aiosqlite runs every call on its connection's thread: opening a cursor, executing, fetching
and closing it are four trips there and back, each a thread wake-up on both sides, and they
cost more than SQLite's own work on a key operation (docs/benchmarks.md, "Keys"). Here a
statement is one trip: the thread opens a cursor, executes, fetches every row and closes the
cursor, and the loop gets the rows with the cursor's description, row count and last row id.
SQLAlchemy reads every row of a result at once on aiosqlite anyway (no server-side cursors
are used). A transaction's BEGIN goes with its first statement, in the same trip (SQLAlchemy
begins just before that statement anyway; a BEGIN that fails raises from it). A rollback
with no transaction open, which the pool issues on every return, is no trip at all: sqlite3
would do nothing with it either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy import Engine

_Result = tuple[Any, int, int | None, list[Any]]
_NOTHING: _Result = (None, -1, None, [])
_BEGINS = frozenset({"BEGIN", "BEGIN IMMEDIATE"})
"""What `db/engine.py` begins a transaction with."""


def _run(
    connection: aiosqlite.Connection, begin: str | None, sql: str, parameters: Any, many: bool
) -> _Result:
    """On the connection's thread: `begin` if given, then the statement; the statement's
    description, row count, last row id and rows, its cursor closed."""
    driver = connection._conn
    if begin is not None:
        driver.execute(begin)
    cursor = driver.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor:
    """As much of aiosqlite's cursor as SQLAlchemy uses, each statement in one trip."""

    __slots__ = ("_connection", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.arraysize = 1
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> OneTripCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        self._take(await self._connection.run(sql, () if parameters is None else parameters))
        return self

    async def executemany(self, sql: str, parameters: Any) -> OneTripCursor:
        self._take(await self._connection.run(sql, parameters, many=True))
        return self

    def _take(self, result: _Result) -> None:
        self.description, self.rowcount, self.lastrowid, self._rows = result

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> Sequence[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors take one trip per statement."""

    _begin: str | None = None
    """A BEGIN not sent yet: it goes with the next statement."""

    def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def run(self, sql: str, parameters: Any, many: bool = False) -> _Result:
        """One statement on the connection's thread (see `_run`); a BEGIN waits for the next."""
        if sql in _BEGINS and not parameters:
            self._begin = sql
            return _NOTHING
        begin, self._begin = self._begin, None
        result: _Result = await self._execute(_run, self, begin, sql, parameters, many)  # type: ignore[no-untyped-call]
        return result

    async def commit(self) -> None:
        if self._begin is not None:  # nothing ran: there is nothing to commit
            self._begin = None
            return
        await super().commit()

    async def rollback(self) -> None:
        self._begin = None
        connection = self._connection
        if connection is not None and connection.in_transaction:
            await super().rollback()


async def connect(engine: Engine) -> aiosqlite.Connection:
    """A new connection with the arguments `engine`'s URL gives, for `async_creator`."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    connection = OneTripConnection(partial(sqlite3.connect, *args, **kwargs), 64)
    connection._thread.daemon = True  # as SQLAlchemy's dialect does: exit never waits on it
    return await connection
