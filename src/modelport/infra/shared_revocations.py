"""The revocation ledger of one server's workers: marks in a file every worker maps.

`serve --workers N` without Redis: a revoke in one worker must be honoured by every other
worker on its next request. The marks live in a memory-mapped file the parent creates:
a header (how many records were ever written, until when records were overwritten before
they expired, and the file's format) and a ring of `SLOTS` records: marks and settles.
`mark` appends one under an exclusive `flock`, *before* the change commits (as the Redis
mark is written), and `settle` another, naming that mark's index, once the change's
transaction has ended. `is_marked` reads the 8-byte count on every call and, only when it
moved, folds the new records into this worker's own `Marks` under a shared `flock`. So a
cache hit costs one read of shared memory and one dict look-up, and a revoke reaches every
worker before its response is sent. `docs/design/workers.md` argues it, a worker killed
mid-revoke included.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import time
from pathlib import Path

from modelport.core.digest import Digest
from modelport.infra.revocations import Marks

SLOTS = 131_072
"""Records kept (a change writes two): more than a worker can miss in a record's lifetime
unless changes come faster than about 100 a second; if they do, workers check every key in
the database meanwhile."""
_HEADER = struct.Struct("<Qd")
"""Records ever written; the monotonic time until which an overwritten one would have lived."""
_FORMAT = struct.Struct("<8sI")
"""At `_FORMAT_AT`: the file's magic and version, written by `create`, checked by workers."""
_FORMAT_AT = 16
_MAGIC = b"mp-revok"
VERSION = 2
"""2: records carry the mark's index. Files of older code have no marker (other layouts)."""
_SLOT = struct.Struct("<B32sddQ")
"""MARK or SETTLE, the digest, when it was written and when it expires (monotonic), and the
index of the mark (a mark's own; the one a settle settles)."""
MARK, SETTLE = 1, 2
_HEADER_SIZE = 64
SIZE = _HEADER_SIZE + SLOTS * _SLOT.size

log = logging.getLogger("modelport.revocation")


class IncompatibleLedgerFile(Exception):
    """The file was made by other code (the parent predates an upgrade of modelport)."""


def create(path: Path) -> None:
    """A new, empty ledger file (the parent's, before any worker starts)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.ftruncate(fd, SIZE)
        os.pwrite(fd, _FORMAT.pack(_MAGIC, VERSION), _FORMAT_AT)
    finally:
        os.close(fd)


class SharedRevocationLedger:
    """Marks every worker of this server sees; `time.monotonic()` is one clock for them all."""

    def __init__(self, path: Path, ttl: float) -> None:
        """Raises IncompatibleLedgerFile if `path` is not a ledger file of this version."""
        self._ttl = ttl
        self._fd = os.open(path, os.O_RDWR)
        try:
            _check_format(path, self._fd)
            self._map = mmap.mmap(self._fd, SIZE)
        except BaseException:
            os.close(self._fd)
            raise
        self._seen = 0
        self._lost_until = 0.0
        self._marks = Marks()

    async def mark(self, digest: Digest) -> int:
        return self._append(MARK, digest, None)

    async def settle(self, digest: Digest, mark: int) -> None:
        try:
            self._append(SETTLE, digest, mark)
        except (OSError, ValueError) as exc:  # flock failed; the map is closed (shutting down)
            log.warning(
                "a revocation mark could not be settled; it stays pending until it expires",
                extra={"error": f"{type(exc).__name__}: {exc}"},
            )

    async def is_marked(self, digest: Digest, read_since: float) -> bool | None:
        (count,) = struct.unpack_from("<Q", self._map, 0)
        if count != self._seen:
            self._catch_up()
        now = time.monotonic()
        if now < self._lost_until:
            return None  # some record was overwritten before this worker read it
        return self._marks.distrusts(digest, read_since, now)

    def _append(self, kind: int, digest: Digest, mark: int | None) -> int:
        """Append a record (a mark's `mark` is its own index); the record's index."""
        count: int
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            count, lost_until = _HEADER.unpack_from(self._map, 0)
            offset = _HEADER_SIZE + (count % SLOTS) * _SLOT.size
            _, _, _, overwritten, _ = _SLOT.unpack_from(self._map, offset)
            now = time.monotonic()  # under the lock: records are in the order of their times
            index = count if mark is None else mark
            _SLOT.pack_into(self._map, offset, kind, digest, now, now + self._ttl, index)
            # The slot first, then the count: a reader that sees the count sees the slot. A
            # writer killed in between leaves the count as it was: a mark's change never
            # commits; a settle's mark stays pending until it expires.
            _HEADER.pack_into(self._map, 0, count + 1, max(lost_until, overwritten))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return count

    def _catch_up(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        try:
            count, lost_until = _HEADER.unpack_from(self._map, 0)
            # Records overwritten before this read: expired ones no longer matter, the others
            # are covered by `lost_until`, which their overwriting pushed past their expiry.
            for index in range(max(self._seen, count - SLOTS), count):
                offset = _HEADER_SIZE + (index % SLOTS) * _SLOT.size
                kind, digest, at, expiry, mark = _SLOT.unpack_from(self._map, offset)
                if kind == MARK:
                    self._marks.mark(digest, mark, expiry)
                elif kind == SETTLE:
                    self._marks.settle(digest, mark, at, expiry)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._seen = count
        self._lost_until = max(self._lost_until, lost_until)
        if len(self._marks) > SLOTS:
            self._marks.prune(time.monotonic())

    @property
    def epoch(self) -> int:
        return 0  # never lost: a record overwritten too early makes `is_marked` unsure

    @property
    def shared(self) -> bool:
        return True

    async def close(self) -> None:
        self._map.close()
        os.close(self._fd)
        self._fd = -1  # not a number the process may reuse for another file


def _check_format(path: Path, fd: int) -> None:
    if os.fstat(fd).st_size != SIZE or os.pread(fd, _FORMAT.size, _FORMAT_AT) != _FORMAT.pack(
        _MAGIC, VERSION
    ):
        raise IncompatibleLedgerFile(
            f"{path} is not a revocation ledger of this version of modelport (version "
            f"{VERSION}): the server's parent process runs older or newer code than this "
            "worker, as after an upgrade while it ran; restart the server (modelport serve)"
        )
