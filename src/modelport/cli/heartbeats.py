"""Proof that each worker's event loop still turns: a slot per worker in a file the parent maps.

A worker that hangs without dying (a loop stuck in a call that never returns, a deadlock,
a SIGSTOP) keeps the connections it accepted and serves none of them, and no death tells
its parent. So each worker writes `time.monotonic()` into its slot every `BEAT_SECONDS`
from its event loop, and the parent, which looks at its workers every half second anyway,
kills with -9 a worker whose slot is older than the worker timeout; it is then replaced as
any dead worker is (docs/design/workers.md, "A hung worker"). `time.monotonic()` is one
clock for every process of a machine, and stands still while the machine sleeps, so waking
a suspended machine kills no worker.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import struct
import time
from pathlib import Path

from modelport.config import MAX_WORKERS

BEAT_SECONDS = 0.5
"""How often a worker's loop writes its slot; the timeout is at least ten beats."""
_SLOT = struct.Struct("<d")
"""The monotonic time of the worker's latest beat (0.0: none yet). An aligned 8-byte store:
a reader never sees half of one."""
SIZE = MAX_WORKERS * _SLOT.size


def create(path: Path) -> None:
    """A new file of empty slots (the parent's, before any worker starts)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, SIZE)
    finally:
        os.close(fd)


class Heartbeats:
    """The slots, mapped: a worker writes its own, the parent reads them all."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)  # the map keeps the file

    def beat(self, index: int) -> None:
        _SLOT.pack_into(self._map, index * _SLOT.size, time.monotonic())

    def last(self, index: int) -> float:
        """When worker `index` last beat (monotonic); 0.0 if it never did."""
        (at,) = _SLOT.unpack_from(self._map, index * _SLOT.size)
        return float(at)

    def close(self) -> None:
        self._map.close()


def keep_beating(heartbeats: Heartbeats, index: int) -> None:
    """Beat now, then every `BEAT_SECONDS` for as long as the running loop takes turns."""
    loop = asyncio.get_running_loop()

    def beat() -> None:
        heartbeats.beat(index)
        loop.call_later(BEAT_SECONDS, beat)

    beat()
