"""Stopping a background task for sure."""

from __future__ import annotations

import asyncio

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
