"""The revocation ledger: which digests' cached verifications must not be trusted.

A key's old digest is marked *before* the regenerate or delete commits. A verifier that finds
a digest in its cache asks the ledger whether it is marked; if it is, or if the ledger cannot
tell, the verifier asks the database instead. So a revoked secret is refused by every process
as soon as the change commits, and a cache fill racing the revoke cannot resurrect it.
"""

from __future__ import annotations

import time
from typing import Protocol

from modelport.core.digest import Digest


class RevocationLedger(Protocol):
    async def mark(self, digest: Digest) -> None:
        """Mark `digest` as revoked for `ttl` seconds; raises StorageUnavailable if it cannot."""

    async def is_marked(self, digest: Digest) -> bool | None:
        """True if marked, False if known clear, None if unknown (then check the database)."""


class MemoryRevocationLedger:
    """The ledger of a single process: enough when one process serves everything."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._marks: dict[Digest, float] = {}

    async def mark(self, digest: Digest) -> None:
        now = time.monotonic()
        self._prune(now)
        self._marks[digest] = now + self._ttl

    async def is_marked(self, digest: Digest) -> bool | None:
        expiry = self._marks.get(digest)
        return expiry is not None and expiry > time.monotonic()

    def _prune(self, now: float) -> None:
        if len(self._marks) > 10_000:
            self._marks = {d: e for d, e in self._marks.items() if e > now}
