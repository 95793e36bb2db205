"""The database: one engine, read and write sessions, and the translation of driver errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from modelport.db.uow import UnitOfWork
from modelport.errors import StorageUnavailable

_WRITE = "modelport_write"
UNAVAILABLE = "The database is unavailable; try again shortly."


def _sqlite_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=5, max_overflow=10)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take transaction control from the driver so that writes can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first
        # can fail with SQLITE_BUSY instead of waiting when another writer got in between.
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """Owns the engine; hands out read sessions and units of work.

    Every failure to reach the database surfaces as `StorageUnavailable`, so that callers
    answer 503 instead of 500.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _sqlite_engine(url) if self.is_sqlite else _postgres_engine(url, pool_size)
        self._reads = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writes = async_sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for reads: a plain transaction, committed when the block ends."""
        return self._unit(self._reads)

    def write(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A unit of work for changes: commits when the block ends, rolls back if it raises.

        On SQLite it holds the write lock from its first statement. After-commit hooks run
        once the commit has succeeded, before control returns to the caller.
        """
        return self._unit(self._writes)

    @asynccontextmanager
    async def _unit(self, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[UnitOfWork]:
        try:
            async with maker() as session:
                unit = UnitOfWork(session)
                async with session.begin():
                    yield unit
        except (OperationalError, InterfaceError, OSError) as exc:
            raise StorageUnavailable(UNAVAILABLE) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise StorageUnavailable(UNAVAILABLE) from exc
            raise
        await unit.committed()

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
