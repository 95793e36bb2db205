"""The hub's usage rows, read straight from its database: what was really recorded."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy import select

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.tables import UsageRecord
from tests.support.hub import TEST_SECRET
from tests.support.loop import BackgroundLoop


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `timeout` seconds.

    For effects that happen after a response on purpose (a disconnected request's row, a
    cancelled upstream call), never as a stand-in for a missing guarantee.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class UsageRows:
    """Reads `usage_records` from the hub's database (SQLite or PostgreSQL alike)."""

    def __init__(self, database_url: str, loop: BackgroundLoop) -> None:
        settings = Settings(database_url=database_url, secret=TEST_SECRET)
        self._loop = loop
        self._database = Database(settings.sqlalchemy_url, pool_size=2)

    def of_key(self, key_id: str) -> list[UsageRecord]:
        """Every row recorded for the key, oldest first."""
        return self._loop.run(self._of_key(uuid.UUID(key_id)))

    def wait_for(self, key_id: str, count: int, timeout: float = 5.0) -> list[UsageRecord]:
        """The key's rows once there are `count` of them (rows written after a disconnect
        land a moment after the client has gone); AssertionError after `timeout`."""
        wait_until(lambda: len(self.of_key(key_id)) >= count, f"{count} usage rows", timeout)
        return self.of_key(key_id)

    async def _of_key(self, key_id: uuid.UUID) -> list[UsageRecord]:
        async with self._database.read() as unit:
            result = await unit.session.execute(
                select(UsageRecord).where(UsageRecord.key_id == key_id).order_by(UsageRecord.id)
            )
            return list(result.scalars())

    def close(self) -> None:
        self._loop.run(self._database.dispose())
