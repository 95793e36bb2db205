"""The long-lived parts of a running hub, built once at start and closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from modelport.catalog.loader import load_catalog
from modelport.catalog.service import Catalog
from modelport.config import Settings, environment_value
from modelport.conversations.purge import ResponsePurger
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.drain import Drain
from modelport.infra.cooldown import (
    CooldownPolicy,
    DeploymentHealth,
    MemoryDeploymentHealth,
    RedisDeploymentHealth,
)
from modelport.infra.credit import CreditLedger, MemoryCreditLedger, RedisCreditLedger
from modelport.infra.key_counters import KeyLimitStore, MemoryKeyLimitStore, RedisKeyLimitStore
from modelport.infra.leases import READ_BLOCK_MS, CacheLease, LocalLease, RedisLease
from modelport.infra.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from modelport.infra.revocations import (
    MemoryRevocationLedger,
    RedisRevocationLedger,
    RevocationLedger,
)
from modelport.infra.scanning_keys import ScanningKeys
from modelport.infra.shared_revocations import SharedRevocationLedger
from modelport.infra.shared_state import (
    HealthBoard,
    SharedCreditLedger,
    SharedDeploymentHealth,
    SharedKeyLimitStore,
    SharedRateLimiter,
    SharedTargets,
    StateClient,
    WorkerLink,
)
from modelport.infra.webhooks import WebhookSender
from modelport.keys.verifier import KeyVerifier
from modelport.providers.proxy import ProxyRules
from modelport.providers.upstream import UpstreamClient
from modelport.usage.admission import KeyLimiter, credit_loader, settled_loader
from modelport.usage.recorder import UsageRecorder

KEY_CACHE_SECONDS = 300.0


@dataclass(slots=True)
class Components:
    settings: Settings
    database: Database
    digester: Digester
    ledger: RevocationLedger
    lease: CacheLease
    """Lets cache hits skip the ledger's round trip (`infra/leases.py`)."""
    verifier: KeyVerifier
    rate_limiter: RateLimiter
    redis: aioredis.Redis | None
    catalog: Catalog
    upstream: UpstreamClient
    recorder: UsageRecorder
    key_limiter: KeyLimiter
    drain: Drain
    purger: ResponsePurger
    health: DeploymentHealth
    """Which deployments are cooling down after failures (`infra/cooldown.py`)."""
    scanning_keys: ScanningKeys
    """The public keys secret scanning reports must be signed with (`leaks/`)."""
    webhooks: WebhookSender
    worker: WorkerLink | None = None
    """This process's place among the workers of `serve --workers`, else None."""
    link: StateClient | None = None
    """A worker's line to its parent (`serve --workers`, no Redis), else None."""

    async def start(self) -> None:
        await self.upstream.start()
        await self.recorder.start()
        await self.purger.start()
        await self.health.start()
        await self.lease.start()

    async def close(self) -> None:
        await self.webhooks.close()
        await self.health.close()
        await self.purger.close()
        await self.recorder.close()
        await self.upstream.close()
        await self.lease.close()
        await self.ledger.close()
        if self.link is not None:
            await self.link.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.database.dispose()


REDIS_CONNECTIONS = 256
"""Per replica: about twice the requests it serves at once (see `_redis_client`)."""
REDIS_SECONDS = 0.5
"""How long a Redis call may take once it has a connection."""
REDIS_CONNECT_SECONDS = 2.0
"""How long opening a connection may take. Longer than a call: a burst of requests opens many
connections at once, and each failure makes the replica give up on Redis for a second. A
Redis that is down refuses at once; only an unreachable host costs the whole wait."""


def _redis_client(url: str) -> aioredis.Redis:
    """A client that gives up fast: a request must not stall because Redis is away.

    A connection error is retried once, at once, on a fresh connection: after Redis restarts
    every pooled connection is dead, and without the retry the first command on each would
    fail, a revoke's mark among them (while other replicas, on fresh connections, trust
    their caches). A Redis that is really away refuses the retry just as fast; a timeout is
    not retried.

    The pool waits for a free connection rather than failing, for as long as opening one may
    take: in a burst every connection is being opened at once, and a call past the pool's
    size waits for one of them. A request settles its limits after its response has left,
    while the client's next request has begun, so a replica needs about twice as many
    connections as requests in flight; a failed call would make it check every key in the
    database for a second (the figures: docs/benchmarks.md, "Design decisions and their
    measurements").
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_CONNECT_SECONDS + REDIS_SECONDS,
        socket_timeout=REDIS_SECONDS,
        socket_connect_timeout=REDIS_CONNECT_SECONDS,
        health_check_interval=15,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )
    return aioredis.Redis.from_pool(pool)


MARK_SECONDS = 2 * KEY_CACHE_SECONDS + 60
"""A mark must outlive every cache entry that could hold the old secret (see the ledger)."""


def _stream_reader(url: str) -> aioredis.Redis:
    """One connection of its own for the lease's blocking stream read, which waits up to
    `READ_BLOCK_MS` for news: longer than any call on the shared pool may take."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=READ_BLOCK_MS / 1000 + REDIS_CONNECT_SECONDS,
        socket_connect_timeout=REDIS_CONNECT_SECONDS,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


def _lease_renewer(url: str) -> aioredis.Redis:
    """One connection of its own for the lease's renewals: on the shared pool a renewal
    queued behind a burst of requests (over 1.7 s, from a review) and the lease lapsed, so
    every request went to the database, making the burst worse."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=REDIS_SECONDS,
        socket_connect_timeout=REDIS_CONNECT_SECONDS,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    )


def build_components(settings: Settings, worker_of: WorkerLink | None = None) -> Components:
    """Wire every component from settings. Opens no connection: that happens on first use.

    `worker_of`: this process is a worker of `serve --workers`; without Redis it shares its
    revocations and counters with the other workers (`infra/shared_*.py`).

    Raises ValueError (CatalogError among them) when the settings or catalog are unusable.
    """
    database = Database(settings.sqlalchemy_url, pool_size=settings.db_pool_size)
    digester = Digester(settings.server_secret())
    redis = _redis_client(settings.redis_url) if settings.redis_url else None
    ledger: RevocationLedger = MemoryRevocationLedger(ttl=MARK_SECONDS)
    lease: CacheLease = LocalLease()
    limiter: RateLimiter = MemoryRateLimiter()
    link = None
    if worker_of is not None and redis is None:
        link = StateClient(worker_of.socket)
        ledger = SharedRevocationLedger(worker_of.revocations, ttl=MARK_SECONDS)
        limiter = SharedRateLimiter(link, MemoryRateLimiter())
    if redis is not None and settings.redis_url:
        ledger = RedisRevocationLedger(redis, ttl=MARK_SECONDS)
        lease = RedisLease(
            redis,
            _stream_reader(settings.redis_url),
            _lease_renewer(settings.redis_url),
            mark_seconds=MARK_SECONDS,
        )
        limiter = RedisRateLimiter(redis, MemoryRateLimiter())
    # Without Redis, a shared database may have other replicas that could not hear of a
    # revocation: then every verification asks the database.
    cache_seconds = KEY_CACHE_SECONDS if redis is not None or settings.is_sqlite else 0.0
    verifier = KeyVerifier(database, digester, ledger, cache_seconds=cache_seconds, lease=lease)
    catalog = load_catalog(settings.catalog, environment_value)
    upstream = UpstreamClient(
        connect_timeout=settings.upstream_connect_timeout,
        read_timeout=settings.upstream_read_timeout,
        max_connections=settings.upstream_max_connections,
        max_body=settings.upstream_max_body_bytes,
        ca_file=settings.upstream_ca_file,
        proxies=ProxyRules.of(
            http=settings.http_proxy, https=settings.https_proxy, no_proxy=settings.no_proxy
        ),
    )
    recorder = UsageRecorder(database)
    load = settled_loader(database)
    key_limits: KeyLimitStore = MemoryKeyLimitStore(load)
    if link is not None:
        key_limits = SharedKeyLimitStore(link, MemoryKeyLimitStore(load))
    if redis is not None:
        key_limits = RedisKeyLimitStore(redis, load, MemoryKeyLimitStore(load))
    load_credit = credit_loader(database)
    credit: CreditLedger = MemoryCreditLedger(load_credit)
    if link is not None:
        credit = SharedCreditLedger(link, MemoryCreditLedger(load_credit))
    if redis is not None:
        credit = RedisCreditLedger(redis, load_credit, MemoryCreditLedger(load_credit))
    policy = CooldownPolicy(
        settings.cooldown_failures, settings.cooldown_window_seconds, settings.cooldown_seconds
    )
    health: DeploymentHealth = MemoryDeploymentHealth(policy)
    if link is not None:
        health = SharedDeploymentHealth(link, MemoryDeploymentHealth(policy))
    if redis is not None:
        health = RedisDeploymentHealth(redis, MemoryDeploymentHealth(policy), policy)
    return Components(
        settings,
        database,
        digester,
        ledger,
        lease,
        verifier,
        limiter,
        redis,
        catalog,
        upstream,
        recorder,
        KeyLimiter(key_limits, credit),
        Drain(settings.shutdown_grace_seconds),
        ResponsePurger(database),
        health,
        ScanningKeys(settings.secret_scanning_keys_file, settings.secret_scanning_keys_url),
        WebhookSender(allow_private=settings.webhooks_allow_private),
        worker_of,
        link,
    )


def shared_targets(settings: Settings, database: Database) -> SharedTargets:
    """What the parent of `serve --workers` (no Redis) counts for all its workers: the very
    in-memory pieces one process would use."""
    policy = CooldownPolicy(
        settings.cooldown_failures, settings.cooldown_window_seconds, settings.cooldown_seconds
    )
    return SharedTargets(
        MemoryRateLimiter(),
        MemoryKeyLimitStore(settled_loader(database)),
        MemoryCreditLedger(credit_loader(database)),
        HealthBoard(MemoryDeploymentHealth(policy)),
    )
