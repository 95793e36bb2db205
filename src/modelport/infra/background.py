"""Background tasks: stopping one for sure, and the poller that runs one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

RECANCEL_SECONDS = 0.1


async def stop(task: asyncio.Task[None] | None) -> None:
    """Cancel `task` and return once it has ended.

    One `cancel()` is not always enough: a cancellation that races a Redis call's own
    timeout can reach the task as that timeout, which a loop that outlives Redis errors
    shrugs off (a full test run hung for good in `close()` that way). So the cancellation
    is repeated until the task is done.
    """
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=RECANCEL_SECONDS)


class Poller:
    """Copies shared state into this process's memory: once at `start` (a process that
    starts learns what is in force), then every `seconds` in the background until `close`.
    `refresh` must not raise: it answers from what it has when the source is away."""

    def __init__(self, refresh: Callable[[], Awaitable[None]], seconds: float, name: str) -> None:
        self._refresh = refresh
        self._seconds = seconds
        self._name = name
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._refresh()
        self._task = asyncio.create_task(self._forever(), name=self._name)

    async def close(self) -> None:
        await stop(self._task)
        self._task = None

    async def _forever(self) -> None:
        while True:
            await asyncio.sleep(self._seconds)
            await self._refresh()
