"""Draining before the process stops: finish what is running, refuse what is new, bill what
is cut.

`serve` starts a drain on SIGTERM (`cli/server.py`). From then on `/readyz` answers 503
`draining` and new requests get 503 (the middleware in `api/drain.py`); requests already
running may finish until the grace ends. Then `expire()` interrupts every request still
running: each one registered an `Interruptible` (the gateway's `InterruptWatch`), which
cancels its request so that it is recorded once, as `server_shutdown`, and settled.
Imports nothing of ours: every layer may use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol


class Interruptible(Protocol):
    def interrupt(self, reason: str) -> None:
        """Stop the request now, saying why (`"server_shutdown"`)."""


class Drain:
    """The process's drain state: requests in flight, and who to interrupt at the end."""

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.draining = False
        self.expired = False
        self.in_flight = 0
        self._watches: set[Interruptible] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        """A request begins (every request, whatever its path)."""
        self.in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    def watch(self, watch: Interruptible) -> None:
        """Interrupt `watch` when the grace ends (at once if it has already ended)."""
        if self.expired:
            watch.interrupt("server_shutdown")
        else:
            self._watches.add(watch)

    def unwatch(self, watch: Interruptible) -> None:
        self._watches.discard(watch)

    def expire(self) -> None:
        """End the grace: interrupt every request still running."""
        self.expired = True
        watches, self._watches = self._watches, set()
        for watch in watches:
            watch.interrupt("server_shutdown")

    async def run(self, cleanup_seconds: float) -> float:
        """Drain: wait for the requests in flight, up to the grace; then cut the rest and wait
        up to `cleanup_seconds` for them to record themselves. Returns the seconds it took."""
        started = time.monotonic()
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), self.grace_seconds)
        except TimeoutError:
            self.expire()
            with contextlib.suppress(TimeoutError):  # uvicorn's shutdown cancels what is left
                await asyncio.wait_for(self._idle.wait(), cleanup_seconds)
        return time.monotonic() - started
