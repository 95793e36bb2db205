"""The Redis circuit breaker: which failures pause calls, and a hung Redis end to end.

A timeout pauses calls only if Redis answered nothing since the timed-out call began;
otherwise it was this process reading late (a busy event loop), and pausing would push
every request onto the slower fallback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from modelport.core.digest import Digester
from modelport.infra.breaker import Breaker
from modelport.infra.revocations import RedisRevocationLedger
from tests.support.hub import free_port
from tests.support.servers import PrivateRedis

TIMEOUT = 0.2
"""The clients' socket timeout here: short, so that a hang is seen fast."""


@pytest.fixture
async def client(private_redis: PrivateRedis) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(private_redis.url, socket_timeout=TIMEOUT)
    yield client
    await client.aclose()


async def _timed_out(client: aioredis.Redis) -> RedisError:
    """A real read timeout: BLPOP on an empty list waits longer than the socket timeout."""
    with pytest.raises(RedisError) as caught:
        await client.blpop(["mp:test:nothing"], timeout=1)
    return caught.value


def test_a_new_breaker_lets_calls_through_and_a_trip_pauses_them_for_a_while() -> None:
    breaker = Breaker(pause=0.05)
    assert not breaker.open
    breaker.trip()
    assert breaker.open
    time.sleep(0.06)
    assert not breaker.open


async def test_a_connection_error_pauses_calls_even_after_answers() -> None:
    breaker = Breaker()
    breaker.answered()
    nothing = aioredis.Redis(port=free_port(), retry=Retry(NoBackoff(), 0))
    started = time.monotonic()
    with pytest.raises(RedisError) as refused:
        await nothing.ping()
    await nothing.aclose()
    assert breaker.failed(refused.value, started)
    assert breaker.open


async def test_a_timeout_with_no_answer_since_the_call_began_pauses_calls(
    client: aioredis.Redis,
) -> None:
    breaker = Breaker()
    breaker.answered()  # an answer before the call began says nothing about now
    started = time.monotonic()
    error = await _timed_out(client)
    assert breaker.failed(error, started)
    assert breaker.open


async def test_a_timeout_while_redis_answered_other_calls_does_not_pause(
    client: aioredis.Redis,
) -> None:
    breaker = Breaker()
    started = time.monotonic()
    slow = asyncio.ensure_future(_timed_out(client))
    assert await client.ping()  # Redis answers while the slow call waits
    breaker.answered()
    error = await slow
    assert not breaker.failed(error, started)
    assert not breaker.open


async def test_a_hung_redis_sends_key_checks_to_the_database_without_waiting_each_time(
    private_redis: PrivateRedis,
) -> None:
    client = aioredis.Redis.from_url(private_redis.url, socket_timeout=TIMEOUT)
    ledger = RedisRevocationLedger(client, ttl=60)
    digest = Digester(b"s" * 32).digest("mp_hung")
    try:
        await ledger.is_marked(digest)  # adopts the boot marker: shared from now on
        assert await ledger.is_marked(digest) is False
        epoch = ledger.epoch
        with private_redis.frozen():
            started = time.monotonic()
            assert await ledger.is_marked(digest) is None, "checked in the database"
            assert time.monotonic() - started >= TIMEOUT
            assert ledger.epoch > epoch, "every cached verification forgotten"
            assert not ledger.shared
            started = time.monotonic()
            assert await ledger.is_marked(digest) is None
            assert time.monotonic() - started < TIMEOUT / 2, "paused: no second timeout"
        await asyncio.sleep(1.1)  # the pause ends
        answers = [await ledger.is_marked(digest) for _ in range(2)]
        assert answers == [None, False], "trusted again after re-reading the boot marker"
        assert ledger.shared
    finally:
        await client.aclose()
