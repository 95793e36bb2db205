"""The one key verifier: a presented secret becomes a key's identity, or a refusal.

The data plane calls it on every request, so a verified key is cached by digest (never by
secret). A cache hit is trusted only when the replica's cache lease vouches for it (no I/O,
`infra/leases.py`) or, where there is no such lease, the revocation ledger says the digest is
clear; otherwise the database decides. A wrong checksum is refused before any I/O. The old secret
of a rotation with an overlap (`keys/overlap.py`) is cached with the end of its overlap, and
refused from then on, cache hit or not.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from modelport import metrics
from modelport.core import secrets as secret_format
from modelport.core.clock import utcnow
from modelport.core.digest import Digest, Digester
from modelport.db.engine import Database
from modelport.errors import KeyExpired, Unauthenticated
from modelport.infra.leases import CacheLease, LocalLease
from modelport.infra.revocations import RevocationLedger
from modelport.keys.limits import NO_LIMITS, KeyLimits
from modelport.keys.repository import KeyRepository

INVALID_KEY = "Invalid or revoked model access key."


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """A verified key: what the data plane may know about it."""

    key_id: uuid.UUID
    team_id: uuid.UUID
    team_name: str
    """Dedicated deployments name the teams they serve (`catalog/deployment.py`)."""
    models: frozenset[str] | None
    """The models the key may call, or None for every model."""
    limits: KeyLimits = NO_LIMITS


@dataclass(frozen=True, slots=True)
class _Entry:
    identity: KeyIdentity
    read_at: float
    """When the database read that filled it began (`time.monotonic()`)."""
    expires: float
    epoch: int
    lease_epoch: int
    secret_until: datetime | None = None
    """The end of the overlap, when the digest is a key's old secret."""


class KeyVerifier:
    """Verifies model access key secrets; the only way into the data plane."""

    def __init__(
        self,
        database: Database,
        digester: Digester,
        ledger: RevocationLedger,
        *,
        cache_seconds: float,
        cache_size: int = 100_000,
        lease: CacheLease | None = None,
    ) -> None:
        self._database = database
        self._digester = digester
        self._ledger = ledger
        self._lease: CacheLease = LocalLease() if lease is None else lease
        self._ttl = cache_seconds
        self._size = cache_size
        self._cache: dict[Digest, _Entry] = {}

    async def verify(self, presented: str) -> KeyIdentity:
        """The identity of the key behind `presented`; raises Unauthenticated if there is none.

        Raises KeyExpired past the key's `expires_at`, and StorageUnavailable when the answer
        needs the database and it cannot be reached.
        """
        if not secret_format.is_well_formed(secret_format.MODEL_KEY_PREFIX, presented):
            metrics.KEY_REFUSALS.labels("invalid").inc()
            raise Unauthenticated(INVALID_KEY)
        digest = self._digester.digest(presented)
        entry = self._cache.get(digest)
        if (
            entry is not None
            and entry.expires > time.monotonic()
            and (entry.secret_until is None or entry.secret_until > utcnow())
        ):
            vouched = self._lease.vouches(digest, entry.lease_epoch, entry.read_at)
            if vouched or (
                vouched is None
                and await self._ledger.is_marked(digest, entry.read_at) is False
                and entry.epoch == self._ledger.epoch
            ):
                return _accepted(entry.identity, "cache")
        return _accepted(await self._from_database(digest), "database")

    async def _from_database(self, digest: Digest) -> KeyIdentity:
        # The entry expires relative to when the read began, so that a fill that raced a
        # revoke dies no later than the ledger's mark does; it is trusted only in the ledger
        # epoch (and lease run) the read began in, and for a marked digest only if the read
        # began after the key's last change settled.
        started = time.monotonic()
        epoch, lease_epoch = self._ledger.epoch, self._lease.epoch
        async with self._database.read() as unit:
            row = await KeyRepository(unit.session).verify_by_digest(digest, utcnow())
        if row is None:
            self._cache.pop(digest, None)
            metrics.KEY_REFUSALS.labels("revoked_or_unknown").inc()
            raise Unauthenticated(INVALID_KEY)
        identity = KeyIdentity(
            key_id=row.id,
            team_id=row.team_id,
            team_name=row.team_name,
            models=None if row.models is None else frozenset(row.models),
            limits=row.limits,
        )
        if self._ttl > 0:
            if len(self._cache) >= self._size:
                self._cache.pop(next(iter(self._cache)))
            until = row.secret_expires_at
            expires = started + self._ttl
            self._cache[digest] = _Entry(identity, started, expires, epoch, lease_epoch, until)
        return identity

    def forget(self, digest: Digest) -> None:
        """Drop a cached verification at once (the ledger covers other processes)."""
        self._cache.pop(digest, None)

    @property
    def cached(self) -> int:
        """How many verified keys are cached now (for metrics)."""
        return len(self._cache)


def _accepted(identity: KeyIdentity, source: str) -> KeyIdentity:
    """`identity`, counted as accepted from `source`; KeyExpired past its `expires_at`."""
    expires_at = identity.limits.expires_at
    if expires_at is not None and expires_at <= utcnow():
        metrics.KEY_REFUSALS.labels("expired").inc()
        raise KeyExpired(
            f"This model access key expired at {expires_at.isoformat()}. "
            "Set a later expires_at, or use another key."
        )
    metrics.KEY_VERIFICATIONS.labels(source).inc()
    return identity
