"""The connections to one upstream origin: idle ones to reuse, and a cap on those in use.

The cap is per origin, so that a provider that answers slowly holds its own connections and
not every connection the hub has. Past it, a request waits for a connection to be released,
in order of arrival, for at most the connect timeout; then it is refused (`UpstreamBusy`),
rather than left waiting without a word. Waits and refusals are counted in /metrics.
"""

from __future__ import annotations

import asyncio
from collections import deque

from modelport import metrics
from modelport.errors import UpstreamBusy
from modelport.providers.http1 import Connection

BUSY = "Too many requests to the upstream provider at once; retry."
IDLE_SECONDS = 15.0
"""A pooled connection idle longer than this is not reused: the server may be closing it."""


class OriginPool:
    """One origin's connections. `name` is `scheme://host:port`; `limit` caps those in use."""

    __slots__ = ("_waiters", "idle", "in_use", "limit", "name")

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.in_use = 0
        self.idle: deque[Connection] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, patience: float) -> None:
        """A place for one request: at once while fewer than `limit` are in use, else the
        first one released within `patience` seconds. Raises UpstreamBusy after that."""
        if self.in_use < self.limit:
            self.in_use += 1
            return
        metrics.UPSTREAM_CONNECTION_WAITS.labels(self.name).inc()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(patience):
                await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # it was handed over as we gave up: pass it on
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                metrics.UPSTREAM_CONNECTION_REFUSALS.labels(self.name).inc()
                raise UpstreamBusy(BUSY) from None
            raise

    def release(self) -> None:
        """Hand the place over to the longest waiting request, if any."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.in_use -= 1

    def reuse(self, now: float) -> Connection | None:
        """The most recently used idle connection that is still fresh, if any."""
        idle = self.idle
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.abort()
        return None

    def keep(self, connection: Connection, now: float) -> None:
        """Pool an idle connection, and close those idle too long (the oldest are first)."""
        connection.idle_since = now
        idle = self.idle
        idle.append(connection)
        while now - idle[0].idle_since >= IDLE_SECONDS or idle[0].closed:
            idle.popleft().abort()

    def close(self) -> None:
        while self.idle:
            self.idle.pop().abort()
