"""The one usage recorder: durable before the response completes, in group commits.

`record()` returns only once the row is committed, so a response that completes always has
its usage stored; a crash after that loses nothing. Rows that arrive while a commit is in
flight go together in the next one, so the cost of a commit is shared under load.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from modelport import metrics
from modelport.core.clock import utcnow
from modelport.db.engine import Database
from modelport.errors import StorageUnavailable
from modelport.keys.repository import KeyRepository
from modelport.usage.repository import UsageRepository, insert_once_sqlite
from modelport.usage.row import UsageRow

log = logging.getLogger("modelport.usage")

MAX_BATCH = 512
ON_LOOP_ROWS = 64
"""On SQLite, a batch of at most this many rows commits on the loop's thread (a few hundred
microseconds at most); a bigger one on the writer thread, so that the loop is never held."""
MAX_BACKLOG = 100_000
MAX_TOUCHED = 10_000
LOGGED_IDS = 20
"""At most this many request ids in one log line about a batch."""
RETRY_SECONDS = 0.5
NOT_RECORDED = "Usage could not be recorded because the database is unavailable."


class UsageRecorder:
    """Writes usage rows and keys' last use. `start()` with the app, `close()` at shutdown."""

    def __init__(self, database: Database, *, touch_every: float = 60.0) -> None:
        self._database = database
        self._touch_every = touch_every
        self._pending: list[tuple[UsageRow, asyncio.Future[None] | None]] = []
        self._touches: dict[uuid.UUID, datetime] = {}
        self._touched_at: dict[uuid.UUID, float] = {}
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-recorder")

    async def close(self) -> None:
        """Write what is pending (as long as the database answers), then stop."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                log.error(
                    "usage rows left unwritten at shutdown",
                    extra={"rows": len(self._pending), "request_ids": _ids(self._pending)},
                )

    async def record(self, row: UsageRow) -> None:
        """Return once `row` is committed; StorageUnavailable if it cannot be now.

        A row that could not be written is retried in the background, so the spend is not
        lost; its request id makes a second write impossible.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        self._wakeup.set()
        await asyncio.shield(future)

    def submit(self, row: UsageRow) -> None:
        """Queue `row` without waiting: for a request whose client has already gone."""
        self._pending.append((row, None))
        self._wakeup.set()

    def touch(self, key_id: uuid.UUID) -> None:
        """Note that a key was used; written with the next batch, once a minute per key."""
        now = time.monotonic()
        last = self._touched_at.get(key_id)
        if last is None or now - last >= self._touch_every:
            if len(self._touched_at) >= MAX_TOUCHED:
                # Forget keys not used within the interval: they would be written anyway.
                horizon = now - self._touch_every
                self._touched_at = {k: t for k, t in self._touched_at.items() if t > horizon}
            self._touched_at[key_id] = now
            self._touches[key_id] = utcnow()
            self._wakeup.set()

    @property
    def backlog(self) -> int:
        """Rows waiting to be written (for metrics): more than a batch means trouble."""
        return len(self._pending)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending or self._touches:
                if not await self._write_batch():
                    if self._closing:
                        return
                    await asyncio.sleep(RETRY_SECONDS)
            if self._closing:
                return

    async def _write_batch(self) -> bool:
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        touches, self._touches = self._touches, {}
        try:
            await self._write([row for row, _ in batch], touches)
        except (StorageUnavailable, SQLAlchemyError, OSError) as exc:
            metrics.USAGE_WRITE_FAILURES.inc()
            log.warning(
                "usage write failed; will retry",
                extra={
                    "rows": len(batch),
                    "request_ids": _ids(batch),
                    "error": type(exc).__name__,
                },
            )
            for _, future in batch:
                if future is not None and not future.done():
                    future.set_exception(StorageUnavailable(NOT_RECORDED))
            kept = [(row, None) for row, _ in batch]
            self._pending = (kept + self._pending)[:MAX_BACKLOG]
            self._touches = {**touches, **self._touches}
            return False
        for row, future in batch:
            _count(row)
            if future is not None and not future.done():
                future.set_result(None)
        return True

    async def _write(self, rows: list[UsageRow], touches: dict[uuid.UUID, datetime]) -> None:
        """Commit rows and touches. On SQLite the rows go in one transaction on SQLite's own
        driver, on the loop's thread unless the write lock is held (`Database.write_now`):
        aiosqlite's many trips per commit were most of a request's CPU (docs/benchmarks.md).
        Touches (once a minute per key) go first in a unit of their own, so that rows are
        never reported failed once written.
        """
        if not self._database.is_sqlite:
            async with self._database.write() as unit:
                if rows:
                    await UsageRepository(unit.session).insert_once(rows)
                if touches:
                    await KeyRepository(unit.session).touch(touches)
            return
        if touches:
            async with self._database.write() as unit:
                await KeyRepository(unit.session).touch(touches)
        if rows:
            # A batch bigger than ordinary traffic makes (a backlog after an outage) goes to
            # the writer thread: committed on the loop, 100,000 rows held it for a second.
            write = (
                self._database.write_now
                if len(rows) <= ON_LOOP_ROWS
                else self._database.write_in_thread
            )
            await write(partial(insert_once_sqlite, rows=rows))


def _count(row: UsageRow) -> None:
    """Count a committed row's tokens, cost and duration by model."""
    metrics.series(metrics.USAGE_ROWS, row.status).inc()
    metrics.series(metrics.TOKENS, row.model, "prompt").inc(row.prompt_tokens)
    metrics.series(metrics.TOKENS, row.model, "completion").inc(row.completion_tokens)
    metrics.COST.inc(row.model, amount=row.cost_picousd)
    metrics.series(metrics.MODEL_DURATION, row.model, row.status).observe(row.latency_ms / 1000)


def _ids(batch: list[tuple[UsageRow, asyncio.Future[None] | None]]) -> list[str]:
    return [row.request_id for row, _ in batch[:LOGGED_IDS]]
