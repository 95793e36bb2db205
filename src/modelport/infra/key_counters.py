"""Per-key limit counters: requests and tokens a minute, and the monthly spend ledger.

Admitting a request is one decision over three counters, so it is one call: against Redis,
one Lua script (one round trip; a second one, after a database read, only when the key's
spend counter must be rebuilt; and one more, once, after Redis failed a settlement: see
`infra/redis_holds.py`). Settling is one more script. The checks run in a fixed
order, and the first refusal ends them:
1. requests a minute: the request counts, even when refused (as any rate limiter hit does);
2. tokens a minute: a look at the counter, which only settlement moves;
3. monthly spend: the estimated cost is reserved (`infra/spend.py`); refused, nothing is held.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

from redis.exceptions import RedisError

from modelport.infra.ratelimit import Allowance, MemoryRateLimiter, counter_name, window_bounds
from modelport.infra.redis_holds import RedisHolds, hold_member
from modelport.infra.spend import (
    COUNTER_SECONDS,
    RESERVATION_SECONDS,
    MemorySpendLedger,
    SettledLoader,
)

WINDOW = 60
"""Seconds of the requests and tokens windows."""

Refusal = Literal["requests", "tokens", "spend"]


@dataclass(frozen=True, slots=True)
class SpendHold:
    """What a request reserves of its key's monthly spend until it settles."""

    month: str
    """'YYYY-MM', UTC."""
    limit: int
    amount: int
    request_id: str


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """The limits one request is admitted against, and later settled against."""

    key_id: uuid.UUID
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    spend: SpendHold | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """The counters as admission found them; a check after a refusal is not made (None)."""

    requests: Allowance | None = None
    """After counting this request."""
    tokens: Allowance | None = None
    """Before this request's tokens, which settlement counts."""
    refused: Refusal | None = None


@dataclass(frozen=True, slots=True)
class MinuteCounts:
    """What a key's per-minute counters hold in the current window (`GET /v1/key`).

    Each is counted only while the key has that limit (admission counts nothing else).
    """

    requests: int
    tokens: int
    reset_at: int
    """Unix time at which the window resets."""


class KeyLimitStore(Protocol):
    async def admit(self, check: LimitCheck) -> Verdict:
        """Count the request and reserve its spend, in the order of the module's docstring.

        Never raises for the counters' sake: a store that cannot reach its backend answers
        from this process's own counters. May raise StorageUnavailable when a spend counter
        must be loaded from an unreachable database.
        """

    async def settle(self, check: LimitCheck, tokens: int, cost: int) -> None:
        """Count `tokens` against the tokens a minute (with a `tpm_limit`) and replace the
        spend hold (if any) by the real `cost`. Only for an admitted check; once."""

    async def minute(self, key_id: uuid.UUID) -> MinuteCounts:
        """The key's requests and tokens in the current window; counts nothing. Never
        raises: a store that cannot reach its backend answers from this process's counters."""


class MemoryKeyLimitStore:
    """The counters of one process."""

    def __init__(self, load: SettledLoader) -> None:
        self._counters = MemoryRateLimiter()
        self._spend = MemorySpendLedger(load)

    async def admit(self, check: LimitCheck) -> Verdict:
        key = check.key_id.hex
        requests = tokens = None
        if check.rpm_limit is not None:
            requests = await self._counters.hit(f"rpm:{key}", check.rpm_limit, WINDOW)
            if not requests.allowed:
                return Verdict(requests, refused="requests")
        if check.tpm_limit is not None:
            tokens = await self._counters.hit(f"tpm:{key}", check.tpm_limit, WINDOW, cost=0)
            if tokens.remaining <= 0:
                return Verdict(requests, tokens, "tokens")
        hold = check.spend
        if hold is not None and not await self._spend.reserve(
            check.key_id, hold.month, hold.limit, hold.amount, hold.request_id
        ):
            return Verdict(requests, tokens, "spend")
        return Verdict(requests, tokens)

    async def settle(self, check: LimitCheck, tokens: int, cost: int) -> None:
        if check.tpm_limit is not None and tokens:
            await self._counters.hit(f"tpm:{check.key_id.hex}", check.tpm_limit, WINDOW, tokens)
        hold = check.spend
        if hold is not None:
            await self._spend.settle(check.key_id, hold.month, hold.request_id, hold.amount, cost)

    async def minute(self, key_id: uuid.UUID) -> MinuteCounts:
        _, reset_at = window_bounds(WINDOW, time.time())
        requests = self._counters.count(f"rpm:{key_id.hex}", WINDOW)
        tokens = self._counters.count(f"tpm:{key_id.hex}", WINDOW)
        return MinuteCounts(requests, tokens, reset_at)


# KEYS: requests counter, tokens counter, settled spend, reservations (member request:amount).
# ARGV: rpm limit, tpm limit, spend limit ('' when the key has none), counter ttl, member,
# amount, now ms, hold ms, the settled spend to start from ('' to report it missing), its ttl.
# Returns {requests counted, tokens counted, spend}: spend 1 reserved, 0 refused, -1 counter
# missing (nothing written), nil when not checked. Everything is read before anything is
# written, so a missing counter leaves no trace and the retry counts the request once.
_ADMIT = """
local rpm_limit, tpm_limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local spend_limit = tonumber(ARGV[3])
local requests, tokens, spend = false, false, false
local refused = false
if rpm_limit then
  requests = tonumber(redis.call('GET', KEYS[1]) or 0) + 1
  refused = requests > rpm_limit
end
if not refused and tpm_limit then
  tokens = tonumber(redis.call('GET', KEYS[2]) or 0)
  refused = tokens >= tpm_limit
end
if not refused and spend_limit then
  local settled = redis.call('GET', KEYS[3])
  if not settled then
    if ARGV[9] == '' then return {false, false, -1} end
    settled = ARGV[9]
    redis.call('SET', KEYS[3], settled, 'EX', ARGV[10])
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[7])
  local reserved = 0
  for _, member in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
    reserved = reserved + tonumber(string.match(member, ':(%d+)$'))
  end
  spend = (tonumber(settled) + reserved < spend_limit) and 1 or 0
end
if rpm_limit then
  requests = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
if spend == 1 then
  redis.call('ZADD', KEYS[4], tonumber(ARGV[7]) + tonumber(ARGV[8]), ARGV[5])
  redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[8]))
end
return {requests, tokens, spend}
"""

# KEYS: tokens counter, settled spend, reservations. ARGV: tokens, counter ttl, member ('' when
# nothing is held), cost. A missing settled counter stays missing: it is rebuilt from the
# database, which the request's usage row reaches.
_SETTLE = """
if tonumber(ARGV[1]) > 0 then
  redis.call('INCRBY', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[3])
  if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCRBY', KEYS[2], ARGV[4]) end
end
return 1
"""


class RedisKeyLimitStore(RedisHolds[SettledLoader, MemoryKeyLimitStore]):
    """The counters every replica shares; this process's own stand in while Redis fails."""

    reserve_script = _ADMIT
    settle_script = _SETTLE

    async def admit(self, check: LimitCheck) -> Verdict:
        if check.rpm_limit is None and check.tpm_limit is None and check.spend is None:
            return Verdict()
        if self._breaker.open:
            return await self._fallback.admit(check)
        try:
            await self._repair()
            reset_at, answer = await self._admit_once(check, None)
            if answer[2] == -1 and check.spend is not None:  # rebuild it from the database
                settled = await self._load(check.key_id, check.spend.month)
                reset_at, answer = await self._admit_once(check, settled)
        except (RedisError, OSError):
            self._lost()
            return await self._fallback.admit(check)
        self._served()
        return _verdict(check, reset_at, answer)

    async def settle(self, check: LimitCheck, tokens: int, cost: int) -> None:
        counted = tokens if check.tpm_limit is not None else 0
        if not counted and check.spend is None:
            return
        if self._breaker.open:
            await self._missed_settlement(check, tokens, cost)
            return
        start, _ = window_bounds(WINDOW, time.time())
        names = [counter_name(f"tpm:{check.key_id.hex}", start), *_spend_names(check)]
        member = "" if check.spend is None else _member(check.spend)
        try:
            await self._settle(keys=names, args=[counted, WINDOW + 1, member, cost])
        except (RedisError, OSError):
            self._lost()
            await self._missed_settlement(check, tokens, cost)

    async def minute(self, key_id: uuid.UUID) -> MinuteCounts:
        if self._breaker.open:
            return await self._fallback.minute(key_id)
        start, reset_at = window_bounds(WINDOW, time.time())
        names = [counter_name(f"{kind}:{key_id.hex}", start) for kind in ("rpm", "tpm")]
        try:
            requests, tokens = await self._client.mget(names)
        except (RedisError, OSError):
            self._lost()
            return await self._fallback.minute(key_id)
        return MinuteCounts(int(requests or 0), int(tokens or 0), reset_at)

    def _fresh_fallback(self) -> MemoryKeyLimitStore:
        return MemoryKeyLimitStore(self._load)

    async def _missed_settlement(self, check: LimitCheck, tokens: int, cost: int) -> None:
        """Settle in this process's counters, and note what Redis missed, for `_repair`."""
        await self._fallback.settle(check, tokens, cost)
        if check.spend is not None:
            self._note_missed(*_spend_names(check), _member(check.spend))

    async def _admit_once(
        self, check: LimitCheck, settled: int | None
    ) -> tuple[int, list[int | None]]:
        now = time.time()
        start, reset_at = window_bounds(WINDOW, now)
        key = check.key_id.hex
        names = [counter_name(f"rpm:{key}", start), counter_name(f"tpm:{key}", start)]
        hold = check.spend
        args: list[str | int] = [
            _or_blank(check.rpm_limit),
            _or_blank(check.tpm_limit),
            _or_blank(None if hold is None else hold.limit),
            WINDOW + 1,
            "" if hold is None else _member(hold),
            0 if hold is None else hold.amount,
            int(now * 1000),
            RESERVATION_SECONDS * 1000,
            _or_blank(settled),
            COUNTER_SECONDS,
        ]
        answer = await self._reserve(keys=[*names, *_spend_names(check)], args=args)
        return reset_at, [None if value is None else int(value) for value in answer]


def _verdict(check: LimitCheck, reset_at: int, answer: list[int | None]) -> Verdict:
    counted, seen, spend = answer
    requests = tokens = None
    if check.rpm_limit is not None and counted is not None:
        requests = Allowance(check.rpm_limit, check.rpm_limit - counted, reset_at)
        if not requests.allowed:
            return Verdict(requests, refused="requests")
    if check.tpm_limit is not None and seen is not None:
        tokens = Allowance(check.tpm_limit, check.tpm_limit - seen, reset_at)
        if tokens.remaining <= 0:
            return Verdict(requests, tokens, "tokens")
    return Verdict(requests, tokens, "spend" if spend == 0 else None)


def _spend_names(check: LimitCheck) -> tuple[str, str]:
    """The settled counter and the reservations of the check's key and month."""
    month = "-" if check.spend is None else check.spend.month  # not touched without a hold
    return f"mp:spend:{check.key_id}:{month}", f"mp:reserved:{check.key_id}:{month}"


def _member(hold: SpendHold) -> str:
    return hold_member(hold.request_id, hold.amount)


def _or_blank(value: int | None) -> str | int:
    return "" if value is None else value
