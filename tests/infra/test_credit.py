"""The credit ledgers: one contract, five ways to run it (`memory`, `redis`, and `redis down`,
whose breaker sends every call to the process's own counters; `workers`, a worker of `serve
--workers` counting in its parent, and `parent gone`, its fallback); then what only Redis
has: a counter shared by two processes, and rebuilt from the database once it is gone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from modelport.infra.breaker import PAUSE_AFTER_FAILURE
from modelport.infra.credit import CreditLedger, MemoryCreditLedger, RedisCreditLedger
from modelport.infra.shared_state import SharedCreditLedger
from tests.infra.helpers import RUNS, Books, redis_client, run_client
from tests.support import shared_state
from tests.support.servers import PrivateRedis

AMOUNT = 100
"""Picodollars each request here reserves."""


@pytest.fixture(params=RUNS)
async def ledger(
    request: pytest.FixtureRequest, books: Books, private_redis: PrivateRedis
) -> AsyncIterator[CreditLedger]:
    if request.param == "memory":
        yield MemoryCreditLedger(books)
        return
    if request.param == "workers":
        held = shared_state.targets(credit=MemoryCreditLedger(books))
        async with shared_state.parent(held) as line:
            yield SharedCreditLedger(line, MemoryCreditLedger(books))
        return
    if request.param == "parent gone":
        yield SharedCreditLedger(shared_state.parent_gone(), MemoryCreditLedger(books))
        return
    async with run_client(request.param, private_redis) as client:
        yield RedisCreditLedger(client, books, MemoryCreditLedger(books))


def _rid() -> str:
    return uuid.uuid4().hex


async def test_holds_fit_below_the_credit_and_a_refusal_holds_nothing(
    ledger: CreditLedger, books: Books
) -> None:
    key = uuid.uuid4()
    granted = 3 * AMOUNT
    held = [_rid() for _ in range(3)]
    assert [await ledger.reserve(key, granted, AMOUNT, rid) for rid in held] == [True] * 3
    assert not await ledger.reserve(key, granted, AMOUNT, _rid())
    assert books.reads == 1, "the spent figure is loaded once"
    # Settling a hold for less than it reserved frees the difference.
    await ledger.settle(key, held[0], AMOUNT, AMOUNT // 2)
    assert await ledger.reserve(key, granted, AMOUNT, _rid())
    assert not await ledger.reserve(key, granted, AMOUNT, _rid())


async def test_spent_credit_stays_spent_until_more_is_granted(
    ledger: CreditLedger, books: Books
) -> None:
    key = uuid.uuid4()
    books.spent = 250
    first = _rid()
    assert await ledger.reserve(key, 300, AMOUNT, first)
    await ledger.settle(key, first, AMOUNT, 70)  # spent 320: past the credit
    assert not await ledger.reserve(key, 300, AMOUNT, _rid())
    assert not await ledger.reserve(key, 320, AMOUNT, _rid())
    assert await ledger.reserve(key, 321, AMOUNT, _rid()), "a top-up lets it continue"


async def test_concurrent_requests_hold_exactly_up_to_the_credit(ledger: CreditLedger) -> None:
    key = uuid.uuid4()
    answers = await asyncio.gather(
        *(ledger.reserve(key, 5 * AMOUNT, AMOUNT, _rid()) for _ in range(20))
    )
    assert answers.count(True) == 5


async def test_keys_do_not_share_credit(ledger: CreditLedger) -> None:
    spender, other = uuid.uuid4(), uuid.uuid4()
    assert await ledger.reserve(spender, AMOUNT, AMOUNT, _rid())
    assert not await ledger.reserve(spender, AMOUNT, AMOUNT, _rid())
    assert await ledger.reserve(other, AMOUNT, AMOUNT, _rid())


async def test_two_processes_share_one_redis_counter_rebuilt_from_the_database(
    books: Books, private_redis: PrivateRedis
) -> None:
    one, two = redis_client(private_redis.url), redis_client(private_redis.url)
    first = RedisCreditLedger(one, books, MemoryCreditLedger(books))
    second = RedisCreditLedger(two, books, MemoryCreditLedger(books))
    key = uuid.uuid4()
    rid = _rid()
    assert await first.reserve(key, 2 * AMOUNT, AMOUNT, rid)
    assert await second.reserve(key, 2 * AMOUNT, AMOUNT, _rid())
    assert not await first.reserve(key, 2 * AMOUNT, AMOUNT, _rid()), "the holds are shared"
    await second.settle(key, rid, AMOUNT, 0)
    assert await first.reserve(key, 2 * AMOUNT, AMOUNT, _rid())
    # The counter expires (or Redis restarts): the database's figure comes back.
    await one.delete(f"mp:credit:{key}", f"mp:credit-held:{key}")
    books.spent = 2 * AMOUNT
    assert not await second.reserve(key, 2 * AMOUNT, AMOUNT, _rid())
    assert books.reads == 2
    await one.aclose()
    await two.aclose()


async def test_a_settlement_redis_missed_is_repaired_once_redis_answers_again(
    books: Books, private_redis: PrivateRedis
) -> None:
    client = aioredis.Redis.from_url(private_redis.url, socket_timeout=0.2)
    ledger = RedisCreditLedger(client, books, MemoryCreditLedger(books))
    key, granted, rid = uuid.uuid4(), 10 * AMOUNT, _rid()
    try:
        assert await ledger.reserve(key, granted, AMOUNT, rid)
        with private_redis.frozen():
            await ledger.settle(key, rid, AMOUNT, 9 * AMOUNT)  # Redis never hears of it
        books.spent = 9 * AMOUNT  # the request's usage row has it
        await asyncio.sleep(PAUSE_AFTER_FAILURE + 0.1)
        # Rebuilt from the database, the stale hold gone: one more request fits, no more.
        answers = [await ledger.reserve(key, granted, AMOUNT, _rid()) for _ in range(3)]
        assert answers == [True, False, False]
        assert books.reads == 2
    finally:
        await client.aclose()
