"""The revocation ledger: which digests' cached verifications must not be trusted.

Every change to a key marks its digest *before* it commits, and settles that mark once its
transaction has ended (committed or rolled back). A verifier that finds a digest in its
cache asks the ledger whether it is marked; if it is, or if the ledger cannot tell, the
verifier asks the database instead. So a revoked secret is refused by every process as soon
as the change commits, and a cache fill racing the change cannot resurrect it; a key that
stays valid (new limits, credit) is trusted again from a cache fill that began after the
settle, since that read saw the change.
`docs/design/revocation.md` gives the whole argument, including Redis failures.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from modelport.core.digest import Digest
from modelport.infra.background import stop
from modelport.infra.breaker import Breaker

log = logging.getLogger("modelport.revocation")

BOOT_KEY = "mp:boot"
MARK_PREFIX = "mp:revoked:"
RETRY_SECONDS = 0.5


class RevocationLedger(Protocol):
    async def mark(self, digest: Digest) -> int:
        """Mark `digest` changed, before the change commits: its change is *pending* until
        `settle(digest, m)` with the `m` returned here. Each mark lives its own lifetime.

        Never fails: what cannot be shared now is retried."""

    async def settle(self, digest: Digest, mark: int) -> None:
        """The change that `mark` announced has ended (called once its transaction has
        committed or rolled back): *settled*. Settles only that mark.

        Never fails. A mark never settled (its process died) stays pending until it expires."""

    async def is_marked(self, digest: Digest, read_since: float) -> bool | None:
        """Whether a cached verification of `digest`, from a database read that began at
        `read_since` (`time.monotonic()`), must not be trusted.

        False if `digest` is not marked, or none of its marks is pending and the last settle
        was strictly before `read_since` (that read saw every change ended so far); True
        otherwise; None if unknown (then check the database)."""

    @property
    def epoch(self) -> int:
        """Changes whenever every cached verification must be forgotten.

        A verifier notes the epoch before it reads a key from the database, and trusts the
        cached result only while the epoch is unchanged.
        """

    @property
    def shared(self) -> bool:
        """Whether marks reach other replicas right now."""

    async def close(self) -> None: ...


Token = int | bytes
"""Which mark a settle ends: a counter in memory, a ring index in the workers' file, a stream
entry id with leases."""


@dataclass(slots=True)
class _Changes:
    pending: dict[Token, float] = field(default_factory=dict)
    """The expiry of each mark not settled yet, by its token."""
    settled_at: float = -math.inf
    settled_until: float = -math.inf
    """When the last settle's record expires."""


class Marks:
    """Marks and settles folded per digest: the marks pending, each with its own expiry, and
    when the last settle was. A settle ends only its own mark; a mark never settled (its
    process died) is pending until its expiry, which later changes do not extend."""

    def __init__(self) -> None:
        self._digests: dict[bytes, _Changes] = {}

    def mark(self, digest: bytes, token: Token, expiry: float) -> None:
        self._digests.setdefault(digest, _Changes()).pending[token] = expiry

    def settle(self, digest: bytes, token: Token, at: float, expiry: float) -> None:
        """Settle mark `token` of `digest` at `at`; an unknown or expired token (its mark
        was lost or expired first) only records the settle."""
        changes = self._digests.setdefault(digest, _Changes())
        changes.pending.pop(token, None)
        changes.settled_at = max(changes.settled_at, at)
        changes.settled_until = max(changes.settled_until, expiry)

    def distrusts(self, digest: bytes, read_since: float, now: float) -> bool:
        changes = self._digests.get(digest)
        if changes is None:
            return False
        if changes.pending and max(changes.pending.values()) > now:
            return True
        return changes.settled_until > now and changes.settled_at >= read_since

    def prune(self, now: float) -> None:
        """Forget the expired marks and settles."""
        for digest, changes in list(self._digests.items()):
            changes.pending = {t: e for t, e in changes.pending.items() if e > now}
            if not changes.pending and changes.settled_until <= now:
                del self._digests[digest]

    def __len__(self) -> int:
        return len(self._digests)


class MemoryRevocationLedger:
    """The ledger of a single process: enough when one process serves everything."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._marks = Marks()
        self._tokens = itertools.count()

    async def mark(self, digest: Digest) -> int:
        now = time.monotonic()
        if len(self._marks) > 10_000:
            self._marks.prune(now)
        token = next(self._tokens)
        self._marks.mark(digest, token, now + self._ttl)
        return token

    async def settle(self, digest: Digest, mark: int) -> None:
        now = time.monotonic()
        self._marks.settle(digest, mark, now, now + self._ttl)

    async def is_marked(self, digest: Digest, read_since: float) -> bool | None:
        return self._marks.distrusts(digest, read_since, time.monotonic())

    @property
    def epoch(self) -> int:
        return 0  # a process-local ledger never loses its marks

    @property
    def shared(self) -> bool:
        return False

    async def close(self) -> None:
        return None


class RedisRevocationLedger:
    """Marks shared by every replica through Redis, with a safe answer when Redis fails.

    - Each mark is `mp:revoked:<digest>` with a TTL longer than any cache entry can live.
    - `mp:boot` holds a random value. If it changes or vanishes (Redis restarted and lost
      its marks), every cached verification is forgotten.
    - While Redis cannot be reached, `is_marked` answers None, so every request is checked in
      the database; when it comes back, caches filled meanwhile are forgotten too.
    - A mark that cannot be written is retried until it is.
    - `settle` does nothing: a mark keeps its whole lifetime, since the replicas' monotonic
      clocks are not one clock (with leases, `infra/leases.py` settles through its stream:
      each replica compares only its own instants).
    """

    def __init__(self, client: aioredis.Redis, ttl: float) -> None:
        self._client = client
        self._ttl_ms = int(ttl * 1000)
        self._boot: bytes | None = None
        self._healthy = False
        self._breaker = Breaker()
        self._epoch = 0
        self._unsent: set[Digest] = set()
        self._retrying: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        return self._healthy

    @property
    def epoch(self) -> int:
        return self._epoch

    async def mark(self, digest: Digest) -> int:
        if not await self._send(digest):
            self._unsent.add(digest)
            if self._retrying is None or self._retrying.done():
                self._retrying = asyncio.create_task(self._retry(), name="revocation-retry")
        return 0  # settle ignores it

    async def settle(self, digest: Digest, mark: int) -> None:
        return None

    async def is_marked(self, digest: Digest, read_since: float) -> bool | None:
        if self._breaker.open:
            return None
        try:
            raw_boot, mark = await self._client.mget(BOOT_KEY, MARK_PREFIX + digest.hex())
            boot = _as_bytes(raw_boot)
            if not self._healthy or boot is None or boot != self._boot:
                await self._adopt_boot(boot)
                return None
        except (RedisError, OSError):
            self._lost()
            return None
        return mark is not None

    async def close(self) -> None:
        await stop(self._retrying)

    async def _send(self, digest: Digest) -> bool:
        try:
            await self._client.set(MARK_PREFIX + digest.hex(), b"1", px=self._ttl_ms)
        except (RedisError, OSError):
            self._lost()
            return False
        return True

    async def _retry(self) -> None:
        while self._unsent:
            await asyncio.sleep(RETRY_SECONDS)
            for digest in list(self._unsent):
                if not await self._send(digest):
                    break  # still away: trying the rest now would only burn CPU
                self._unsent.discard(digest)
        log.info("revocation marks shared after Redis came back")

    async def _adopt_boot(self, seen: bytes | None) -> None:
        """Start trusting Redis again from a clean slate: forget every cached verification."""
        if seen is None:
            await self._client.set(BOOT_KEY, secrets.token_hex(16).encode(), nx=True)
            seen = _as_bytes(await self._client.get(BOOT_KEY))
        if self._boot is not None and seen != self._boot:
            log.warning("Redis lost its revocation marks (restart?); cached keys forgotten")
        self._boot = seen
        self._healthy = True
        self._forget_all()

    def _lost(self) -> None:
        self._breaker.trip()
        if self._healthy:
            log.warning("Redis unreachable: every key is checked in the database until it returns")
        self._healthy = False
        self._forget_all()

    def _forget_all(self) -> None:
        self._epoch += 1


def _as_bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value
