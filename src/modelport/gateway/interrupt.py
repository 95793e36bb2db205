"""Stopping a request whose client has gone, or that is still running when the drain ends.

Uvicorn silently drops what is sent to a closed connection; only `receive()` tells. A small
task waits on it and cancels the request's task when the client disconnects. The drain
(`modelport.drain`) interrupts the same way when its grace ends. Either way the request's
task sees a CancelledError, and `reason` says which it was.
"""

from __future__ import annotations

import asyncio

from starlette.types import Receive

from modelport.drain import Drain

CLIENT_DISCONNECT = "client_disconnect"
SERVER_SHUTDOWN = "server_shutdown"


class InterruptWatch:
    """Cancels the current task if the client disconnects or the drain ends, while armed."""

    def __init__(self, receive: Receive, drain: Drain) -> None:
        self._receive = receive
        self._drain = drain
        self._owner = asyncio.current_task()
        self._armed = True
        self.reason: str | None = None
        self._task: asyncio.Task[None] | None = asyncio.create_task(self._watch())
        drain.watch(self)

    async def _watch(self) -> None:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                break
        self.interrupt(CLIENT_DISCONNECT)

    def interrupt(self, reason: str) -> None:
        """Cancel the request's task (once), remembering why."""
        if self._armed and self.reason is None and self._owner is not None:
            self.reason = reason
            self._owner.cancel()

    def stop(self) -> None:
        """Disarm: from here on the request finishes whatever happens to the client."""
        self._armed = False
        if self._task is not None:
            self._task.cancel()
            # The cancelled task keeps its CancelledError, whose traceback holds this watch's
            # frame: with the task referenced here that was a reference cycle per request,
            # left to the garbage collector along with the connection objects it reached.
            self._task = None
        self._drain.unwatch(self)

    def absorb(self) -> None:
        """Undo the cancellation this watch caused, once the request has cleaned up."""
        if self.reason is not None and self._owner is not None:
            self._owner.uncancel()
