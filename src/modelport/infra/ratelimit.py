"""Fixed-window request counters: in memory for one process, in Redis for many."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from modelport.infra.breaker import Breaker


@dataclass(frozen=True, slots=True)
class Allowance:
    """The state of one bucket after a hit."""

    limit: int
    remaining: int
    reset_at: int
    """Unix time at which the window resets."""

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0

    def retry_after(self, now: float) -> int:
        return max(1, int(self.reset_at - now + 0.999))


class RateLimiter(Protocol):
    async def hit(self, bucket: str, limit: int, window: int, cost: int = 1) -> Allowance:
        """Count `cost` against `bucket`; `remaining` below zero means over the limit."""


def window_bounds(window: int, now: float) -> tuple[int, int]:
    """(start, end) of the fixed window holding `now`, in Unix seconds."""
    start = int(now // window) * window
    return start, start + window


def counter_name(bucket: str, start: int) -> str:
    """The Redis key counting `bucket` in the window that starts at `start`."""
    return f"mp:rl:{bucket}:{start}"


class MemoryRateLimiter:
    """Counters of one process."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    async def hit(self, bucket: str, limit: int, window: int, cost: int = 1) -> Allowance:
        start, reset_at = window_bounds(window, time.time())
        if len(self._counts) > 50_000:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= start}
        count = self._counts.get((bucket, start), 0) + cost
        self._counts[(bucket, start)] = count
        return Allowance(limit, limit - count, reset_at)

    def count(self, bucket: str, window: int) -> int:
        """What `bucket` has counted in the current window, without counting anything."""
        start, _ = window_bounds(window, time.time())
        return self._counts.get((bucket, start), 0)


class RedisRateLimiter:
    """Counters shared by every replica; falls back to this process's counters if Redis fails."""

    def __init__(self, client: aioredis.Redis, fallback: MemoryRateLimiter) -> None:
        self._client = client
        self._fallback = fallback
        self._breaker = Breaker()
        self.on_fallback = False
        """Whether its last call to Redis failed (counting on this process's counters since)."""

    async def hit(self, bucket: str, limit: int, window: int, cost: int = 1) -> Allowance:
        start, reset_at = window_bounds(window, time.time())
        name = counter_name(bucket, start)
        if self._breaker.open:
            return await self._fallback.hit(bucket, limit, window, cost)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incrby(name, cost)
                pipe.expire(name, window + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError):
            self._breaker.trip()
            self.on_fallback = True
            return await self._fallback.hit(bucket, limit, window, cost)
        self.on_fallback = False
        return Allowance(limit, limit - int(count), reset_at)
