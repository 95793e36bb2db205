"""The per-key limit stores: one contract, five ways to run it.

- `memory`: one process's counters.
- `redis`: the counters every replica shares, on a private Redis.
- `redis down`: the Redis store with nothing listening, so its breaker sends every call to
  the process's own counters (the fallback must behave as the memory store does).
- `workers`: a worker's store of `serve --workers`, counting in its parent over a socket.
- `parent gone`: the same with nothing listening: the worker's own counters answer.

Then what only the Redis store has: its round trips (one to admit, one to settle), counted
with MONITOR, and a spend counter rebuilt from the database when it has expired.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable

import pytest
import redis.asyncio as aioredis

from modelport.infra.breaker import PAUSE_AFTER_FAILURE
from modelport.infra.key_counters import (
    WINDOW,
    KeyLimitStore,
    LimitCheck,
    MemoryKeyLimitStore,
    MinuteCounts,
    RedisKeyLimitStore,
    SpendHold,
    Verdict,
)
from modelport.infra.ratelimit import Allowance
from modelport.infra.shared_state import SharedKeyLimitStore
from tests.infra.helpers import RUNS, Books, redis_client, run_client
from tests.support import shared_state
from tests.support.redis_monitor import RoundTrips
from tests.support.servers import PrivateRedis

MONTH = "2026-11"
AMOUNT = 100
"""Picodollars each request here reserves."""


@pytest.fixture(params=RUNS)
async def store(
    request: pytest.FixtureRequest, books: Books, private_redis: PrivateRedis
) -> AsyncIterator[KeyLimitStore]:
    if request.param == "memory":
        yield MemoryKeyLimitStore(books)
        return
    if request.param == "workers":
        async with shared_state.parent(shared_state.targets(settled=books)) as line:
            yield SharedKeyLimitStore(line, MemoryKeyLimitStore(books))
        return
    if request.param == "parent gone":
        yield SharedKeyLimitStore(shared_state.parent_gone(), MemoryKeyLimitStore(books))
        return
    async with run_client(request.param, private_redis) as client:
        yield RedisKeyLimitStore(client, books, MemoryKeyLimitStore(books))


@pytest.fixture
async def redis_store(
    books: Books, private_redis: PrivateRedis
) -> AsyncIterator[RedisKeyLimitStore]:
    async with run_client("redis", private_redis) as client:
        yield RedisKeyLimitStore(client, books, MemoryKeyLimitStore(books))


async def _whole_window() -> None:
    """Wait out the end of a minute, so that a test's requests count in one window."""
    left = WINDOW - time.time() % WINDOW
    if left < 5:
        await asyncio.sleep(left + 0.1)


def _check(
    key: uuid.UUID,
    *,
    rpm: int | None = None,
    tpm: int | None = None,
    spend: int | None = None,
) -> LimitCheck:
    """One request's check; with `spend`, a hold of AMOUNT against that limit."""
    hold = None if spend is None else SpendHold(MONTH, spend, AMOUNT, uuid.uuid4().hex)
    return LimitCheck(key, rpm, tpm, hold)


def _left(allowance: Allowance | None) -> int | None:
    return None if allowance is None else allowance.remaining


async def test_a_key_without_limits_is_admitted_with_nothing_counted(store: KeyLimitStore) -> None:
    check = _check(uuid.uuid4())
    assert await store.admit(check) == Verdict()
    await store.settle(check, 18, 31)


async def test_refused_requests_count_and_hold_nothing(store: KeyLimitStore, books: Books) -> None:
    key = uuid.uuid4()
    limit = 4 * AMOUNT  # four holds fit
    await _whole_window()
    verdicts = [await store.admit(_check(key, rpm=3, tpm=1000, spend=limit)) for _ in range(5)]
    assert [v.refused for v in verdicts] == [None, None, None, "requests", "requests"]
    assert [_left(v.requests) for v in verdicts] == [2, 1, 0, -1, -2]
    assert all(v.requests and v.requests.limit == 3 for v in verdicts)
    assert all(v.tokens is None for v in verdicts[3:]), "nothing is checked after a refusal"
    assert [_left(v.tokens) for v in verdicts[:3]] == [1000] * 3
    now = time.time()
    assert all(now < v.requests.reset_at <= now + WINDOW for v in verdicts if v.requests)
    # Three holds, not five: the fourth fits, the fifth does not.
    assert (await store.admit(_check(key, spend=limit))).refused is None
    assert (await store.admit(_check(key, spend=limit))).refused == "spend"
    assert books.reads == 1


async def test_tokens_are_looked_at_on_admission_and_counted_on_settlement(
    store: KeyLimitStore,
) -> None:
    key = uuid.uuid4()
    await _whole_window()
    first = _check(key, rpm=10, tpm=100)
    assert (await store.admit(first)).tokens is not None
    await store.settle(first, 60, 0)
    second = _check(key, rpm=10, tpm=100)
    verdict = await store.admit(second)
    assert _left(verdict.tokens) == 40
    await store.settle(_check(key, rpm=10), 500, 0)  # without a tpm_limit: not counted
    await store.settle(second, 40, 0)
    refused = await store.admit(_check(key, rpm=10, tpm=100))
    assert refused.refused == "tokens"
    assert refused.tokens is not None
    assert (refused.tokens.limit, refused.tokens.remaining) == (100, 0)
    assert _left(refused.requests) == 7, "the refused request was counted"


async def test_spend_is_held_until_settled_and_a_refusal_holds_nothing(
    store: KeyLimitStore, books: Books
) -> None:
    key = uuid.uuid4()
    books.spent, limit = 100, 300
    a, b, c = (_check(key, spend=limit) for _ in range(3))
    assert [(await store.admit(x)).refused for x in (a, b, c)] == [None, None, "spend"]
    await store.settle(a, 0, 50)  # settled 150, b holds 100
    d, e = _check(key, spend=limit), _check(key, spend=limit)
    assert [(await store.admit(x)).refused for x in (d, e)] == [None, "spend"]
    await store.settle(b, 0, 100)  # settled 250, d holds 100
    assert (await store.admit(_check(key, spend=limit))).refused == "spend"
    await store.settle(d, 0, 0)  # settled 250, nothing held
    assert (await store.admit(_check(key, spend=limit))).refused is None
    assert books.reads == 1, "the settled spend is read from the database once"


async def test_a_first_request_loads_the_spend_and_counts_once(
    store: KeyLimitStore, books: Books
) -> None:
    key = uuid.uuid4()
    await _whole_window()
    books.spent = 1_000
    refused = await store.admit(_check(key, rpm=5, spend=1_000))
    assert refused.refused == "spend"
    assert _left(refused.requests) == 4
    assert books.reads == 1
    books.spent = 0  # the store keeps its counter: not read again
    again = await store.admit(_check(key, rpm=5, spend=1_000))
    assert again.refused == "spend"
    assert _left(again.requests) == 3
    assert books.reads == 1


async def test_the_minute_is_read_without_counting_anything(store: KeyLimitStore) -> None:
    key = uuid.uuid4()
    await _whole_window()
    fresh = await store.minute(key)
    assert (fresh.requests, fresh.tokens) == (0, 0)
    checks = [_check(key, rpm=5, tpm=100) for _ in range(3)]
    for check in checks:
        await store.admit(check)
    await store.settle(checks[0], 40, 0)
    counts = await store.minute(key)
    assert (counts.requests, counts.tokens) == (3, 40)
    now = time.time()
    assert now < counts.reset_at <= now + WINDOW
    assert await store.minute(key) == counts, "reading counted something"
    assert _left((await store.admit(_check(key, rpm=5, tpm=100))).requests) == 1
    other = await store.minute(uuid.uuid4())
    assert (other.requests, other.tokens) == (0, 0), "another key's counters showed"


async def test_concurrent_requests_hold_exactly_up_to_the_limit(store: KeyLimitStore) -> None:
    key = uuid.uuid4()
    verdicts = await asyncio.gather(
        *(store.admit(_check(key, spend=5 * AMOUNT)) for _ in range(20))
    )
    assert [v.refused for v in verdicts].count(None) == 5


async def test_an_expired_spend_counter_is_rebuilt_from_the_database(
    redis_store: RedisKeyLimitStore, books: Books, private_redis: PrivateRedis
) -> None:
    key = uuid.uuid4()
    assert (await redis_store.admit(_check(key, spend=1_000))).refused is None
    client = redis_client(private_redis.url)
    await client.delete(f"mp:spend:{key}:{MONTH}")
    await client.aclose()
    books.spent = 900  # plus the 100 still held: the limit
    assert (await redis_store.admit(_check(key, spend=1_000))).refused == "spend"
    assert books.reads == 2


async def _round_trips(private_redis: PrivateRedis, *calls: Awaitable[object]) -> list[str]:
    """The round trips `calls` make, awaited one after another."""
    with RoundTrips(private_redis.port) as seen:
        for call in calls:
            await call
    return seen.sent()


async def test_a_limited_request_costs_one_round_trip_to_admit_and_one_to_settle(
    redis_store: RedisKeyLimitStore, private_redis: PrivateRedis
) -> None:
    key = uuid.uuid4()
    await _whole_window()
    warm = _check(key, rpm=100, tpm=10_000, spend=10**6)
    await redis_store.admit(warm)  # the spend counter loaded, the scripts cached
    await redis_store.settle(warm, 18, 31)
    check = _check(key, rpm=100, tpm=10_000, spend=10**6)
    admitted = await _round_trips(private_redis, redis_store.admit(check))
    settled = await _round_trips(private_redis, redis_store.settle(check, 18, 31))
    assert (admitted, settled) == (["EVALSHA"], ["EVALSHA"])


async def test_round_trips_of_refusals_and_partial_limits(
    redis_store: RedisKeyLimitStore, private_redis: PrivateRedis
) -> None:
    warm = _check(uuid.uuid4(), rpm=2, tpm=10, spend=10**6)
    await redis_store.admit(warm)  # connected, the scripts cached
    await redis_store.settle(warm, 1, 1)
    key = uuid.uuid4()
    await _whole_window()
    missing = _check(key, rpm=2, spend=10**6)
    assert await _round_trips(private_redis, redis_store.admit(missing)) == ["EVALSHA"] * 2
    assert await _round_trips(private_redis, redis_store.settle(missing, 0, 5)) == ["EVALSHA"]
    rpm_only = _check(key, rpm=2)
    assert await _round_trips(private_redis, redis_store.admit(rpm_only)) == ["EVALSHA"]
    assert await _round_trips(private_redis, redis_store.settle(rpm_only, 18, 5)) == []
    refused = _check(key, rpm=2, spend=10**6)
    with RoundTrips(private_redis.port) as seen:
        assert (await redis_store.admit(refused)).refused == "requests"
    assert seen.sent() == ["EVALSHA"]
    none = _check(key)
    nothing = [redis_store.admit(none), redis_store.settle(none, 18, 5)]
    assert await _round_trips(private_redis, *nothing) == []


async def test_reading_the_minute_is_one_round_trip(
    redis_store: RedisKeyLimitStore, private_redis: PrivateRedis
) -> None:
    key = uuid.uuid4()
    await _whole_window()
    await redis_store.admit(_check(key, rpm=5))
    with RoundTrips(private_redis.port) as seen:
        counts = await redis_store.minute(key)
    assert seen.sent() == ["MGET"]
    assert isinstance(counts, MinuteCounts)
    assert (counts.requests, counts.tokens) == (1, 0)


@pytest.fixture
async def impatient_store(
    books: Books, private_redis: PrivateRedis
) -> AsyncIterator[RedisKeyLimitStore]:
    """A Redis store that gives up on a frozen Redis after 0.2 s."""
    client = aioredis.Redis.from_url(private_redis.url, socket_timeout=0.2)
    try:
        yield RedisKeyLimitStore(client, books, MemoryKeyLimitStore(books))
    finally:
        await client.aclose()


async def test_a_settlement_redis_missed_is_repaired_once_redis_answers_again(
    impatient_store: RedisKeyLimitStore, books: Books, private_redis: PrivateRedis
) -> None:
    store, key, limit = impatient_store, uuid.uuid4(), 10 * AMOUNT
    missed = _check(key, spend=limit)
    assert (await store.admit(missed)).refused is None  # holds AMOUNT
    with private_redis.frozen():
        await store.settle(missed, 0, 9 * AMOUNT)  # times out: Redis never hears of it
    books.spent = 9 * AMOUNT  # the request's usage row has it
    await asyncio.sleep(PAUSE_AFTER_FAILURE + 0.1)
    # The counter is rebuilt from the database and the missed hold released: one more
    # request fits (9 + 1 holds the limit), the next does not. Unrepaired, Redis would
    # still count 0 settled and the stale hold, and admit eight more.
    verdicts = [await store.admit(_check(key, spend=limit)) for _ in range(3)]
    assert [v.refused for v in verdicts] == [None, "spend", "spend"]
    assert books.reads == 2


async def test_an_outage_after_redis_served_again_starts_from_the_database(
    impatient_store: RedisKeyLimitStore, books: Books, private_redis: PrivateRedis
) -> None:
    store, key, limit = impatient_store, uuid.uuid4(), 10 * AMOUNT
    with private_redis.frozen():  # the first outage: this process counts the spend (0)
        first = _check(key, spend=limit)
        assert (await store.admit(first)).refused is None
        await store.settle(first, 0, 0)
    await asyncio.sleep(PAUSE_AFTER_FAILURE + 0.1)
    for _ in range(8):  # Redis is back and counts what the key spends
        served = _check(key, spend=limit)
        assert (await store.admit(served)).refused is None
        await store.settle(served, 0, AMOUNT)
    books.spent = 8 * AMOUNT  # the usage rows have it
    with private_redis.frozen():  # the second outage
        verdicts = [await store.admit(_check(key, spend=limit)) for _ in range(3)]
    # Started from the database, two more holds fit (8 + 2 holds the limit). Counting on
    # from the first outage (0 spent), this process would admit ten more.
    assert [v.refused for v in verdicts] == [None, None, "spend"]
