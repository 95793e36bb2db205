"""Monthly spend per key: what is settled, plus what requests in flight have reserved.

A request may start only while settled + reserved is below the key's limit; it reserves its
estimated cost before calling the upstream and settles its real cost after. So concurrent
requests overshoot the limit by no more than the requests already in flight when it was
reached. The settled figure comes from the usage rows in the database (via `load`) whenever
the counter is missing, so it survives restarts and is the same for every replica.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from modelport.infra.breaker import Breaker

SettledLoader = Callable[[uuid.UUID, str], Awaitable[int]]
"""Picodollars a key spent in a month ('YYYY-MM'), from the database."""

RESERVATION_SECONDS = 900
"""A reservation whose request never settles (a crashed replica) frees itself after this."""
COUNTER_SECONDS = 600
"""The Redis counter is rebuilt from the database this often, healing any drift."""


class SpendLedger(Protocol):
    async def reserve(
        self, key_id: uuid.UUID, month: str, limit: int, amount: int, request_id: str
    ) -> bool:
        """Reserve `amount` for a request if the key is below `limit`; False if it is not."""

    async def settle(
        self, key_id: uuid.UUID, month: str, request_id: str, amount: int, cost: int
    ) -> None:
        """Replace the request's reservation of `amount` by its real `cost`."""


class MemorySpendLedger:
    """The ledger of a single process, loaded from the database per key and month."""

    def __init__(self, load: SettledLoader) -> None:
        self._load = load
        self._settled: dict[tuple[uuid.UUID, str], int] = {}
        self._reserved: dict[tuple[uuid.UUID, str], dict[str, tuple[int, float]]] = {}

    async def reserve(
        self, key_id: uuid.UUID, month: str, limit: int, amount: int, request_id: str
    ) -> bool:
        slot = (key_id, month)
        if slot not in self._settled:
            loaded = await self._load(key_id, month)
            # Another request may have loaded (and settled) meanwhile: keep its figure.
            self._settled.setdefault(slot, loaded)
        now = time.monotonic()
        held = {rid: item for rid, item in self._reserved.get(slot, {}).items() if item[1] > now}
        self._reserved[slot] = held
        if self._settled[slot] + sum(item[0] for item in held.values()) >= limit:
            return False
        held[request_id] = (amount, now + RESERVATION_SECONDS)
        return True

    async def settle(
        self, key_id: uuid.UUID, month: str, request_id: str, amount: int, cost: int
    ) -> None:
        slot = (key_id, month)
        self._reserved.get(slot, {}).pop(request_id, None)
        if slot in self._settled:
            self._settled[slot] += cost


_RESERVE = """
local settled = redis.call('GET', KEYS[1])
if not settled then return -1 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
local reserved = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(member, ':(%d+)$'))
end
if tonumber(settled) + reserved >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + tonumber(ARGV[5]), ARGV[3] .. ':' .. ARGV[2])
redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[5]))
return 1
"""

_SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[2]) end
return 1
"""


class RedisSpendLedger:
    """The ledger every replica shares; the process's own one stands in if Redis fails."""

    def __init__(self, client: aioredis.Redis, load: SettledLoader, fallback: MemorySpendLedger):
        self._client = client
        self._load = load
        self._fallback = fallback
        self._breaker = Breaker()
        self._reserve = client.register_script(_RESERVE)
        self._settle = client.register_script(_SETTLE)

    async def reserve(
        self, key_id: uuid.UUID, month: str, limit: int, amount: int, request_id: str
    ) -> bool:
        keys = _names(key_id, month)
        args: list[str | int] = [
            limit,
            amount,
            request_id,
            int(time.time() * 1000),
            RESERVATION_SECONDS * 1000,
        ]
        if self._breaker.open:
            return await self._fallback.reserve(key_id, month, limit, amount, request_id)
        try:
            answer = await self._reserve(keys=keys, args=args)
            if answer == -1:
                settled = await self._load(key_id, month)
                await self._client.set(keys[0], settled, nx=True, ex=COUNTER_SECONDS)
                answer = await self._reserve(keys=keys, args=args)
        except (RedisError, OSError):
            self._breaker.trip()
            return await self._fallback.reserve(key_id, month, limit, amount, request_id)
        return bool(answer == 1)

    async def settle(
        self, key_id: uuid.UUID, month: str, request_id: str, amount: int, cost: int
    ) -> None:
        if self._breaker.open:
            await self._fallback.settle(key_id, month, request_id, amount, cost)
            return
        try:
            await self._settle(keys=_names(key_id, month), args=[f"{request_id}:{amount}", cost])
        except (RedisError, OSError):
            self._breaker.trip()
            await self._fallback.settle(key_id, month, request_id, amount, cost)


def _names(key_id: uuid.UUID, month: str) -> list[str]:
    return [f"mp:spend:{key_id}:{month}", f"mp:reserved:{key_id}:{month}"]
