"""Prepaid credit per key: what its usage has spent, plus what requests in flight reserved.

The same reserve-and-settle as the monthly spend (`infra/spend.py`), over a counter that
never resets: a request may start only while spent + reserved is below the credit granted;
it reserves its estimated cost before calling the upstream and settles its real cost after.
The spent figure comes from the usage rows in the database (via `load`) whenever the counter
is missing, so it survives restarts and is the same for every replica; a top-up changes only
the granted figure, which each request brings with its key.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.exceptions import RedisError

from modelport.infra.redis_holds import RedisHolds, hold_member
from modelport.infra.spend import COUNTER_SECONDS, RESERVATION_SECONDS, MemorySpendLedger

CreditLoader = Callable[[uuid.UUID], Awaitable[int]]
"""Picodollars a key's usage cost since its first top-up, from the database."""

_SLOT = "credit"
"""The one period of the memory ledger: credit has no month."""


class CreditLedger(Protocol):
    async def reserve(self, key_id: uuid.UUID, granted: int, amount: int, request_id: str) -> bool:
        """Reserve `amount` for a request if the key has credit left of `granted`; False if
        not. May raise StorageUnavailable when the spent figure must be loaded and the
        database cannot be reached."""

    async def settle(self, key_id: uuid.UUID, request_id: str, amount: int, cost: int) -> None:
        """Replace the request's reservation of `amount` by its real `cost`; once."""


class MemoryCreditLedger:
    """The credit counters of one process."""

    def __init__(self, load: CreditLoader) -> None:
        async def by_key(key_id: uuid.UUID, _slot: str) -> int:
            return await load(key_id)

        self._ledger = MemorySpendLedger(by_key)

    async def reserve(self, key_id: uuid.UUID, granted: int, amount: int, request_id: str) -> bool:
        return await self._ledger.reserve(key_id, _SLOT, granted, amount, request_id)

    async def settle(self, key_id: uuid.UUID, request_id: str, amount: int, cost: int) -> None:
        await self._ledger.settle(key_id, _SLOT, request_id, amount, cost)


# KEYS: spent counter, reservations (member request:amount). ARGV: granted, member, amount,
# now ms, hold ms, the spent figure to start from ('' to report it missing), its ttl.
# Returns 1 reserved, 0 refused, -1 counter missing (nothing written).
_RESERVE = """
local spent = redis.call('GET', KEYS[1])
if not spent then
  if ARGV[6] == '' then return -1 end
  spent = ARGV[6]
  redis.call('SET', KEYS[1], spent, 'EX', ARGV[7])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
local reserved = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  reserved = reserved + tonumber(string.match(member, ':(%d+)$'))
end
if tonumber(spent) + reserved >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + tonumber(ARGV[5]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[5]))
return 1
"""

# KEYS: spent counter, reservations. ARGV: member, cost. A missing counter stays missing: it
# is rebuilt from the database, which the request's usage row reaches.
_SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[2]) end
return 1
"""


class RedisCreditLedger(RedisHolds[CreditLoader, MemoryCreditLedger]):
    """The credit counters every replica shares; this process's own stand in while Redis
    fails, and the counters it missed are rebuilt from the database once it is back."""

    reserve_script = _RESERVE
    settle_script = _SETTLE

    async def reserve(self, key_id: uuid.UUID, granted: int, amount: int, request_id: str) -> bool:
        if self._breaker.open:
            return await self._fallback.reserve(key_id, granted, amount, request_id)
        member = hold_member(request_id, amount)
        try:
            await self._repair()
            answer = await self._reserve_once(key_id, [granted, member, amount], None)
            if answer == -1:  # rebuild it from the database
                spent = await self._load(key_id)
                answer = await self._reserve_once(key_id, [granted, member, amount], spent)
        except (RedisError, OSError):
            self._lost()
            return await self._fallback.reserve(key_id, granted, amount, request_id)
        self._served()
        return answer == 1

    async def settle(self, key_id: uuid.UUID, request_id: str, amount: int, cost: int) -> None:
        member = hold_member(request_id, amount)
        if not self._breaker.open:
            try:
                await self._settle(keys=list(_names(key_id)), args=[member, cost])
                return
            except (RedisError, OSError):
                self._lost()
        await self._fallback.settle(key_id, request_id, amount, cost)
        self._note_missed(*_names(key_id), member)

    def _fresh_fallback(self) -> MemoryCreditLedger:
        return MemoryCreditLedger(self._load)

    async def _reserve_once(
        self, key_id: uuid.UUID, hold: list[str | int], spent: int | None
    ) -> int:
        """`hold` is [granted, member, amount], the script's first arguments."""
        args = [
            *hold,
            int(time.time() * 1000),
            RESERVATION_SECONDS * 1000,
            "" if spent is None else spent,
            COUNTER_SECONDS,
        ]
        return int(await self._reserve(keys=list(_names(key_id)), args=args))


def _names(key_id: uuid.UUID) -> tuple[str, str]:
    """The spent counter and the reservations of a key's credit."""
    return f"mp:credit:{key_id}", f"mp:credit-held:{key_id}"
