"""The background purge of expired stored responses: at start, then every hour.

Each response carries its own expiry (set when it was saved, from
`MODELPORT_RESPONSES_RETENTION_DAYS`), so a round only needs the time. Every replica runs
one; rounds that overlap delete nothing twice.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from modelport.conversations.service import PURGE_BATCH, ConversationService
from modelport.core.clock import utcnow
from modelport.db.engine import Database
from modelport.errors import StorageUnavailable
from modelport.infra.background import stop

log = logging.getLogger("modelport.conversations")

EVERY_SECONDS = 3600.0


class ResponsePurger:
    """Purges expired responses in the background. `start()` with the app, `close()` at
    shutdown (it cancels a round in progress, whose batch then rolls back)."""

    def __init__(
        self, database: Database, *, every: float = EVERY_SECONDS, batch: int = PURGE_BATCH
    ) -> None:
        self._database = database
        self._every = every
        self._batch = batch
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="responses-purge")

    async def close(self) -> None:
        await stop(self._task)
        self._task = None

    async def purge_now(self) -> int:
        """Delete every response expired by now, one transaction per batch (on SQLite each
        holds the write lock briefly, so usage writes are not held up); how many went.

        Raises StorageUnavailable when the database cannot be reached; batches already
        committed stay deleted.
        """
        now = utcnow()
        total = 0
        while True:
            async with self._database.write() as unit:
                removed = await ConversationService(unit).purge(now, limit=self._batch)
            total += removed
            if removed < self._batch:
                return total

    async def _run(self) -> None:
        """A round now, then one every `every` seconds; a failed round (the database away,
        or a deadlock with another replica's round) is logged, and the next one retries."""
        while True:
            try:
                removed = await self.purge_now()
            except (StorageUnavailable, SQLAlchemyError, OSError) as exc:
                log.warning(
                    "purging expired responses failed; the next round retries",
                    extra={"error": type(exc).__name__},
                )
            else:
                log.info("expired responses purged", extra={"responses": removed})
            await asyncio.sleep(self._every)
