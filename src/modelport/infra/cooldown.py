"""Which deployments are cooling down: skipped by routing after failing, until a set time.

A deployment (an opaque id such as "model-id#2") that fails `failures` times within `window`
seconds of the first of those failures is skipped for `seconds` (the cooldown); an upstream
that answers with `Retry-After` gets its deployment skipped until then at once (capped at
MAX_RETRY_AFTER seconds). Failures that arrive while a deployment is already cooling down
(requests that were in flight when it tripped) are not counted. Nothing ends a cooldown early:
a deployment is tried again when it is over.

How to use it (`DeploymentHealth`):
- `cooling(deployment, now)` is the routing's question, on every request: synchronous, a
  dictionary look-up in this process's memory, never a Redis call. `now` is
  `time.monotonic()`, read once per request.
- `until(deployment)` is when it is usable again, in `time.monotonic()` seconds (None when it
  is usable now): for a `Retry-After` when every deployment of a model is cooling down.
- `await failed(deployment, retry_after=None)` after a call failed (`retry_after`: the
  upstream's `Retry-After`, in seconds, when it gave one). Never raises.
- `start()` and `close()` in the components' lifespan.

With Redis (`RedisDeploymentHealth`), every replica shares the failure counts and the
cooldowns: a failure is one Lua script (count, and trip when it is the K-th), the cooldowns
live in one sorted set (`mp:cooldowns`, deployment -> end in epoch milliseconds of Redis's own
clock, so replicas' clocks need not agree), and each replica copies the set into its memory
every POLL_SECONDS, and at start (so a replica that starts learns the cooldowns in force).
Polling, not pub/sub: one cheap round trip a replica every half second, no connection held
open, and the same code covers start, a missed message and a Redis that came back (pub/sub
would need that snapshot anyway); a cooldown reaches the other replicas within half a second,
and the replica that tripped it skips the deployment at once. When Redis fails, each replica
counts and cools its deployments on its own (its memory is a `MemoryDeploymentHealth`) until
Redis answers again, and keeps the cooldowns it learned.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from modelport.infra.background import Poller
from modelport.infra.breaker import Breaker

log = logging.getLogger("modelport.cooldown")

MAX_RETRY_AFTER = 300.0
"""An upstream's `Retry-After` beyond this many seconds is cut to it: a deployment is not
benched for hours on one answer's word."""
POLL_SECONDS = 0.5
COOLDOWNS_KEY = "mp:cooldowns"
FAILURES_PREFIX = "mp:cooldown:failures:"


@dataclass(frozen=True, slots=True)
class CooldownPolicy:
    """`failures` within `window` seconds cool a deployment down for `seconds`."""

    failures: int
    window: float
    seconds: float


class DeploymentHealth(Protocol):
    def cooling(self, deployment: str, now: float) -> bool:
        """Whether `deployment` is to be skipped at `now` (`time.monotonic()`). Memory only."""

    def until(self, deployment: str) -> float | None:
        """When (`time.monotonic()`) `deployment` is usable again; None if it is now."""

    async def failed(self, deployment: str, retry_after: float | None = None) -> None:
        """Note a failed call; `retry_after` is the upstream's `Retry-After`. Never raises."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def _retry_seconds(retry_after: float | None) -> float | None:
    """The cooldown a `Retry-After` asks for (capped), or None to count a plain failure."""
    if retry_after is None or not math.isfinite(retry_after) or retry_after <= 0:
        return None
    return min(retry_after, MAX_RETRY_AFTER)


class MemoryDeploymentHealth:
    """The failures and cooldowns of one process."""

    def __init__(self, policy: CooldownPolicy) -> None:
        self._policy = policy
        self._until: dict[str, float] = {}
        self._failures: dict[str, tuple[int, float]] = {}
        """deployment -> (failures counted, when their window ends)."""

    def cooling(self, deployment: str, now: float) -> bool:
        until = self._until.get(deployment)
        return until is not None and until > now

    def until(self, deployment: str) -> float | None:
        until = self._until.get(deployment)
        return until if until is not None and until > time.monotonic() else None

    async def failed(self, deployment: str, retry_after: float | None = None) -> None:
        self.note(deployment, retry_after, time.monotonic())

    def note(self, deployment: str, retry_after: float | None, now: float) -> None:
        """`failed`, synchronously, at `now`."""
        seconds = _retry_seconds(retry_after)
        if seconds is not None:
            self.cool(deployment, now + seconds)
        elif not self.cooling(deployment, now) and self._count(deployment, now):
            self.cool(deployment, now + self._policy.seconds)

    def cool(self, deployment: str, until: float) -> None:
        """Skip `deployment` until `until` (monotonic), unless a longer cooldown is in force."""
        if until > self._until.get(deployment, 0.0):
            self._until[deployment] = until

    def _count(self, deployment: str, now: float) -> bool:
        """Count one failure; True when it is the one that trips the cooldown."""
        count, ends = self._failures.get(deployment, (0, 0.0))
        if now >= ends:
            count, ends = 0, now + self._policy.window
        count += 1
        if count >= self._policy.failures:
            self._failures.pop(deployment, None)
            return True
        self._failures[deployment] = (count, ends)
        return False

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


_FAILED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cooldown = tonumber(ARGV[1])
if cooldown == 0 then
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  if count < tonumber(ARGV[3]) then return {now, 0} end
  redis.call('DEL', KEYS[2])
  cooldown = tonumber(ARGV[4])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], 'GT', now + cooldown, ARGV[5])
return {now, now + cooldown}
"""
"""A failure of deployment ARGV[5]: with a Retry-After (ARGV[1] ms), cool it down for that
long; without (0), count it (KEYS[2], expiring after the window ARGV[2] ms) and, at the
ARGV[3]-th, cool it down for ARGV[4] ms. A longer cooldown in force stays (GT). Returns
{Redis's now, the cooldown's end or 0}, both in epoch ms by Redis's clock."""

_SNAPSHOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {now, redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES')}
"""
"""{Redis's now, [deployment, end, ...] of the cooldowns in force}, epoch ms by Redis's clock."""


class RedisDeploymentHealth:
    """Failures and cooldowns shared by every replica; this process's own while Redis fails."""

    def __init__(
        self,
        client: aioredis.Redis,
        local: MemoryDeploymentHealth,
        policy: CooldownPolicy,
        poll: float = POLL_SECONDS,
    ) -> None:
        self._local = local
        self._policy = policy
        self._breaker = Breaker()
        self._failed = client.register_script(_FAILED)
        self._snapshot = client.register_script(_SNAPSHOT)
        self._poller = Poller(self._refresh, poll, "cooldown-poll")
        self._shared = False

    def cooling(self, deployment: str, now: float) -> bool:
        return self._local.cooling(deployment, now)

    def until(self, deployment: str) -> float | None:
        return self._local.until(deployment)

    async def failed(self, deployment: str, retry_after: float | None = None) -> None:
        now = time.monotonic()
        seconds = _retry_seconds(retry_after)
        if seconds is None and self._local.cooling(deployment, now):
            return
        if self._breaker.open:
            self._local.note(deployment, retry_after, now)
            return
        cooldown_ms = 0 if seconds is None else _ms(seconds)
        policy = self._policy
        args = (cooldown_ms, _ms(policy.window), policy.failures, _ms(policy.seconds), deployment)
        try:
            redis_now, end = await self._failed(
                keys=[COOLDOWNS_KEY, FAILURES_PREFIX + deployment], args=args
            )
        except (RedisError, OSError):
            self._lost()
            self._local.note(deployment, retry_after, now)
            return
        if end:
            self._local.cool(deployment, now + (int(end) - int(redis_now)) / 1000)

    async def start(self) -> None:
        """Learn the cooldowns in force, then keep learning them in the background."""
        await self._poller.start()

    async def close(self) -> None:
        await self._poller.close()

    async def _refresh(self) -> None:
        """Copy the cooldowns in force in Redis into this process's memory."""
        if self._breaker.open:
            return
        now = time.monotonic()
        try:
            redis_now, cooling = await self._snapshot(keys=[COOLDOWNS_KEY])
        except (RedisError, OSError):
            self._lost()
            return
        if not self._shared:
            log.info("deployment cooldowns shared through Redis")
            self._shared = True
        for index in range(0, len(cooling), 2):
            deployment = _text(cooling[index])
            left = (float(cooling[index + 1]) - int(redis_now)) / 1000
            self._local.cool(deployment, now + left)

    def _lost(self) -> None:
        self._breaker.trip()
        if self._shared:
            log.warning("Redis unreachable: each replica cools its deployments on its own")
            self._shared = False


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
