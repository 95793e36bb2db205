"""The database: one engine, read and write sessions, and the translation of driver errors."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Engine, PoolProxiedConnection, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, InvalidatePoolError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from modelport.db.files import private_sqlite_files
from modelport.db.sqlite_driver import connect
from modelport.db.uow import UnitOfWork
from modelport.errors import StorageUnavailable

_WRITE = "modelport_write"
UNAVAILABLE = "The database is unavailable; try again shortly."
CHECKPOINT_EVERY = 200
"""Transactions `write_now` commits on the event loop's thread between two checkpoints of
the WAL, which the writer thread runs (a checkpoint writes pages back and syncs the file)."""
T = TypeVar("T")


def _sqlite_engine(url: str) -> AsyncEngine:
    """An engine on a SQLite file that only this user can read (see `db/files.py`), each
    statement one trip to its connection's thread (`db/sqlite_driver.py`)."""
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        private_sqlite_files(Path(path))
    engine: AsyncEngine = create_async_engine(
        url, pool_size=5, max_overflow=10, async_creator=lambda: connect(engine.sync_engine)
    )
    _configure_sqlite(engine.sync_engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """The same PRAGMAs on every connection, and BEGIN IMMEDIATE for writes, on any engine."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so that writes can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first
        # can fail with SQLITE_BUSY instead of waiting when another writer got in between.
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _Locked(Exception):
    """Another connection holds SQLite's write lock; nothing was written."""


def _plain_sqlite_engine(url: str) -> Engine:
    """An engine on the same file with the standard library's driver and the same PRAGMAs."""
    engine = create_engine(make_url(url).set(drivername="sqlite"), pool_size=1)
    _configure_sqlite(engine)
    return engine


_UNREACHABLE_SQLSTATES = ("08", "57P", "53300")
"""Connection exceptions; the server shutting down, crashed or starting up; no free slot."""


def _unreachable(exc: DBAPIError) -> bool:
    """Whether a driver error means the database cannot be reached (rather than a bad query).

    asyncpg reports a server that is starting up or shutting down as a plain `Error` (not an
    OperationalError) with its SQLSTATE, raised while connecting, so nothing is invalidated.
    """
    code = getattr(exc.orig, "sqlstate", None)
    return exc.connection_invalidated or (
        isinstance(code, str) and code.startswith(_UNREACHABLE_SQLSTATES)
    )


CONNECT_TIMEOUT = 5.0
"""Seconds to reach PostgreSQL: an unreachable host answers 503 soon, not after asyncpg's 60."""


def _postgres_engine(url: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"timeout": CONNECT_TIMEOUT},
    )
    _ping_on_checkout(engine.sync_engine)
    return engine


PING_AFTER_IDLE_SECONDS = 1.0
"""A pooled connection idle longer than this is checked before it is handed out."""


def _ping_on_checkout(engine: Engine) -> None:
    """Check a connection that has been idle for a while as the pool hands it out, in one
    round trip to PostgreSQL.

    This is `pool_pre_ping`'s job (it lets the hub recover on its own once PostgreSQL is back),
    but its asyncpg ping is three round trips (`BEGIN`, `;`, `ROLLBACK`, for pgbouncer's
    transaction mode) on every checkout: a third of a key operation's. Here it is `SELECT 1`
    in the simple query protocol (which pgbouncer passes as well), and only for a connection
    idle over `PING_AFTER_IDLE_SECONDS`: one that worked within the last second has not
    lived through a restart of PostgreSQL. A connection that dies all the same fails its
    statement, which answers 503 and invalidates the pool, as a disconnection always does.
    A failed check invalidates the pool, as a failed pre-ping does: the pool then opens a
    new connection, or the checkout raises the database's error (StorageUnavailable to our
    callers).
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # A connection just opened is not checked, as `pool_pre_ping` does not check one:
        # otherwise a check failing on it too (PostgreSQL refusing behind pgbouncer) would
        # end the checkout in SQLAlchemy's "connection is closed", a 500, not the 503 that
        # the statement's own failure gives.
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.run_async(lambda connection: connection.execute("SELECT 1"))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise InvalidatePoolError(str(exc)) from exc


_IDLE_SINCE = "modelport_idle_since"


def _reading(engine: AsyncEngine, is_sqlite: bool) -> AsyncEngine:
    """The engine read units run on: on PostgreSQL, with no transaction around their statements.

    Under READ COMMITTED, PostgreSQL's level here, every statement takes its own snapshot in a
    transaction or out of one, so a transaction of reads promised nothing more; its BEGIN and
    COMMIT were two of a key list's four round trips to PostgreSQL (docs/benchmarks.md,
    "Keys"), and a read unit held a transaction open while its caller worked (a password
    check) between statements. On SQLite a read transaction is one snapshot of the database,
    kept.
    """
    return engine if is_sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")


class Database:
    """Owns the engine; hands out read sessions and units of work.

    Every failure to reach the database surfaces as `StorageUnavailable`, so that callers
    answer 503 instead of 500.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _sqlite_engine(url) if self.is_sqlite else _postgres_engine(url, pool_size)
        self._reads = async_sessionmaker(
            _reading(self.engine, self.is_sqlite), expire_on_commit=False
        )
        self._writes = async_sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        self._thread: ThreadPoolExecutor | None = None
        self._thread_engine: Engine | None = None
        self._thread_connection: PoolProxiedConnection | None = None
        self._here_engine: Engine | None = None
        self._here_connection: PoolProxiedConnection | None = None
        self._since_checkpoint = 0
        self._checkpoint: asyncio.Future[None] | None = None

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for reads. On SQLite a plain transaction, one snapshot for all its
        statements; on PostgreSQL each statement on its own (`_reading`). Never for writes."""
        return self._unit(self._reads)

    def write(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for changes: commits when the block ends, rolls back if it raises.

        On SQLite it holds the write lock from its first statement. After-commit hooks run
        once the commit has succeeded, before control returns to the caller; after-end hooks
        then too, or once the rollback is done, before the exception reaches the caller.
        """
        return self._unit(self._writes)

    @asynccontextmanager
    async def _unit(self, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[UnitOfWork]:
        try:
            async with maker() as session:
                unit = UnitOfWork(session)
                failed = False
                try:
                    async with session.begin():
                        try:
                            yield unit
                        except BaseException:
                            failed = True  # so `begin` rolls back: nothing is committed
                            raise
                finally:
                    if failed:  # not a failed commit: that one may have happened
                        await unit.rolled_back()
        except (OperationalError, InterfaceError, OSError) as exc:
            raise StorageUnavailable(UNAVAILABLE) from exc
        except DBAPIError as exc:
            if _unreachable(exc):
                raise StorageUnavailable(UNAVAILABLE) from exc
            raise
        await unit.committed()

    async def write_now(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction on SQLite's own driver: on the event loop's
        thread when the write lock is free at this moment, else as `write_in_thread` does.

        The hand-off to the writer thread and back (two wake-ups, the GIL passed back and
        forth) cost more CPU than SQLite's own insert and commit, about 27 us: at c=1 every
        request paid it (docs/benchmarks.md, "Gateway"). Here the loop never waits: its
        connection has no busy timeout (a held lock sends the work to the thread, which
        waits) and never checkpoints (the thread does, every CHECKPOINT_EVERY commits).
        Raises StorageUnavailable when the transaction fails; nothing of it is then written.
        """
        if not self.is_sqlite:
            raise RuntimeError("write_now is for SQLite")
        try:
            result = self._write_here(work)
        except _Locked:
            return await self.write_in_thread(work)
        except (sqlite3.Error, OSError) as exc:  # a constraint too: the caller retries either
            raise StorageUnavailable(UNAVAILABLE) from exc
        self._since_checkpoint += 1
        if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint is None:
            self._since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().run_in_executor(
                self._executor(), self._checkpoint_wal
            )
            self._checkpoint.add_done_callback(self._checkpointed)
        return result

    def _write_here(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """What `work` returned, once committed. Raises _Locked if another connection holds
        the write lock (nothing was written), sqlite3.Error if the transaction failed."""
        connection = self._here_connection
        if connection is None:
            if self._here_engine is None:
                self._here_engine = _plain_sqlite_engine(self.url)
            connection = self._here_connection = self._here_engine.raw_connection()
            driver = connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            driver.execute("PRAGMA busy_timeout=0")
            driver.execute("PRAGMA wal_autocheckpoint=0")
        driver = connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # in autocommit: _on_connect made it so
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                raise _Locked from exc
            raise
        try:
            result = work(driver)
            driver.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY and driver.in_transaction:
                driver.execute("ROLLBACK")
                raise _Locked from exc
            self._drop_here(connection)
            raise
        except BaseException:
            self._drop_here(connection)
            raise
        return result

    def _drop_here(self, connection: PoolProxiedConnection) -> None:
        self._here_connection = None
        connection.close()  # back to the pool, which rolls back what is left open

    def _checkpoint_wal(self) -> None:
        driver = self._thread_driver()
        driver.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def _checkpointed(self, future: asyncio.Future[None]) -> None:
        self._checkpoint = None
        if not future.cancelled() and future.exception() is not None:
            self._since_checkpoint = CHECKPOINT_EVERY  # try again after the next commit

    def _executor(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writes")
        return self._thread

    async def write_in_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction on SQLite's own driver, on a thread of its own.

        For a hot path: aiosqlite hands every statement, and each cursor's opening and
        closing, to its thread and back (eight trips for a small insert and its commit), and
        SQLAlchemy's per-statement machinery cost more than SQLite's own work. Here the whole
        transaction is one trip: BEGIN IMMEDIATE, `work`, COMMIT, on a connection made by an
        engine configured like this one (the same PRAGMAs). SQLite only; no after-commit hooks.
        Raises StorageUnavailable when the transaction fails; nothing of it is then written.
        """
        if not self.is_sqlite:
            raise RuntimeError("write_in_thread is for SQLite")
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor(), self._in_transaction, work
            )
        except (sqlite3.Error, OSError) as exc:  # a constraint too: the caller retries either
            raise StorageUnavailable(UNAVAILABLE) from exc

    def _thread_driver(self) -> sqlite3.Connection:
        # The thread keeps its connection (a pool checkout and return per transaction cost
        # a quarter of it); one that failed is closed, and the next transaction opens another.
        connection = self._thread_connection
        if connection is None:
            if self._thread_engine is None:
                self._thread_engine = _plain_sqlite_engine(self.url)
            connection = self._thread_connection = self._thread_engine.raw_connection()
        driver = connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # in autocommit: _on_connect made it so
        return driver

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        driver = self._thread_driver()
        try:
            driver.execute("BEGIN IMMEDIATE")
            result = work(driver)
            driver.execute("COMMIT")
        except BaseException:
            connection, self._thread_connection = self._thread_connection, None
            if connection is not None:
                connection.close()  # back to the pool, which rolls back what is left open
            raise
        return result

    def _close_thread_engine(self) -> None:
        if self._thread_connection is not None:
            self._thread_connection.close()
            self._thread_connection = None
        if self._thread_engine is not None:
            self._thread_engine.dispose()
            self._thread_engine = None

    async def ping(self) -> bool:
        """Whether the database answers a trivial query now."""
        try:
            async with self.engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        except (OSError, DBAPIError):
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._here_connection is not None:
            self._drop_here(self._here_connection)
        if self._here_engine is not None:
            self._here_engine.dispose()
            self._here_engine = None
        if self._thread is not None:  # its connection belongs to that thread
            await asyncio.get_running_loop().run_in_executor(
                self._thread, self._close_thread_engine
            )
            self._thread.shutdown()
            self._thread = None
