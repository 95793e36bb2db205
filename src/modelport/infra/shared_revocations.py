"""The revocation ledger of one server's workers: marks in a file every worker maps.

`serve --workers N` without Redis: a revoke in one worker must be honoured by every other
worker on its next request. The marks live in a memory-mapped file the parent creates:
a header (how many marks were ever written, and until when marks were overwritten before
they expired) and a ring of `SLOTS` marks (digest, expiry). `mark` appends one under an
exclusive `flock`, *before* the revoke commits (as the Redis mark is written); `is_marked`
reads the 8-byte count on every call and, only when it moved, copies the new marks into
this worker's own dict under a shared `flock`. So a cache hit costs one read of shared
memory and one dict look-up, and a revoke reaches every worker before its response is
sent. `docs/design/workers.md` argues it, a worker killed mid-revoke included.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import time
from pathlib import Path

from modelport.core.digest import Digest

SLOTS = 65_536
"""Marks kept: more than a worker can miss in a mark's lifetime unless revokes come faster
than about 100 a second; if they do, workers check every key in the database meanwhile."""
_HEADER = struct.Struct("<Qd")
"""Marks ever written; the monotonic time until which an overwritten mark would have lived."""
_SLOT = struct.Struct("<32sd")
_HEADER_SIZE = 64
SIZE = _HEADER_SIZE + SLOTS * _SLOT.size


def create(path: Path) -> None:
    """A new, empty ledger file (the parent's, before any worker starts)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, SIZE)
    finally:
        os.close(fd)


class SharedRevocationLedger:
    """Marks every worker of this server sees; `time.monotonic()` is one clock for them all."""

    def __init__(self, path: Path, ttl: float) -> None:
        self._ttl = ttl
        self._fd = os.open(path, os.O_RDWR)
        self._map = mmap.mmap(self._fd, SIZE)
        self._seen = 0
        self._lost_until = 0.0
        self._marks: dict[bytes, float] = {}

    async def mark(self, digest: Digest) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            count, lost_until = _HEADER.unpack_from(self._map, 0)
            offset = _HEADER_SIZE + (count % SLOTS) * _SLOT.size
            _, overwritten = _SLOT.unpack_from(self._map, offset)
            now = time.monotonic()
            _SLOT.pack_into(self._map, offset, digest, now + self._ttl)
            # The slot first, then the count: a reader that sees the count sees the slot. A
            # writer killed in between leaves the count as it was: its revoke never commits.
            _HEADER.pack_into(self._map, 0, count + 1, max(lost_until, overwritten))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    async def is_marked(self, digest: Digest) -> bool | None:
        (count,) = struct.unpack_from("<Q", self._map, 0)
        if count != self._seen:
            self._catch_up()
        now = time.monotonic()
        if now < self._lost_until:
            return None  # some mark was overwritten before this worker read it
        expiry = self._marks.get(digest)
        return expiry is not None and expiry > now

    def _catch_up(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        try:
            count, lost_until = _HEADER.unpack_from(self._map, 0)
            # Marks overwritten before this read: expired ones no longer matter, the others
            # are covered by `lost_until`, which their overwriting pushed past their expiry.
            for index in range(max(self._seen, count - SLOTS), count):
                offset = _HEADER_SIZE + (index % SLOTS) * _SLOT.size
                digest, expiry = _SLOT.unpack_from(self._map, offset)
                self._marks[digest] = max(expiry, self._marks.get(digest, 0.0))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._seen = count
        self._lost_until = max(self._lost_until, lost_until)
        if len(self._marks) > SLOTS:
            now = time.monotonic()
            self._marks = {d: e for d, e in self._marks.items() if e > now}

    @property
    def epoch(self) -> int:
        return 0  # marks are never lost: one overwritten too early makes `is_marked` unsure

    @property
    def shared(self) -> bool:
        return True

    async def close(self) -> None:
        self._map.close()
        os.close(self._fd)
