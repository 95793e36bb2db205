"""Noticing that the client has gone, so the upstream request can be cancelled.

Uvicorn silently drops what is sent to a closed connection; only `receive()` tells. A small
task waits on it and cancels the request's task when the client disconnects.
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive


class DisconnectWatch:
    """Cancels the current task if the client disconnects while the watch is armed."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._owner = asyncio.current_task()
        self._armed = True
        self.fired = False
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                break
        if self._armed and self._owner is not None:
            self.fired = True
            self._owner.cancel()

    def stop(self) -> None:
        """Disarm: from here on the request finishes whatever happens to the client."""
        self._armed = False
        self._task.cancel()

    def absorb(self) -> None:
        """Undo the cancellation this watch caused, once the request has cleaned up."""
        if self.fired and self._owner is not None:
            self._owner.uncancel()
