"""The Redis circuit breaker, alone and in the revocation ledger against a hung Redis.

A Redis that hangs (SIGSTOP: connections open, nothing answered) costs one timeout; then the
ledger stops asking for a moment and every key is checked in the database.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from modelport.core.digest import Digester
from modelport.infra.breaker import Breaker
from modelport.infra.revocations import RedisRevocationLedger
from tests.support.servers import PrivateRedis

TIMEOUT = 0.2
"""The clients' socket timeout here: short, so that a hang is seen fast."""


def test_a_new_breaker_lets_calls_through_and_a_trip_pauses_them_for_a_while() -> None:
    breaker = Breaker(pause=0.05)
    assert not breaker.open
    breaker.trip()
    assert breaker.open
    time.sleep(0.06)
    assert not breaker.open


async def test_a_hung_redis_sends_key_checks_to_the_database_without_waiting_each_time(
    private_redis: PrivateRedis,
) -> None:
    client = aioredis.Redis.from_url(private_redis.url, socket_timeout=TIMEOUT)
    ledger = RedisRevocationLedger(client, ttl=60)
    digest = Digester(b"s" * 32).digest("mp_hung")
    try:
        await ledger.is_marked(digest, 0.0)  # adopts the boot marker: shared from now on
        assert await ledger.is_marked(digest, 0.0) is False
        epoch = ledger.epoch
        with private_redis.frozen():
            started = time.monotonic()
            assert await ledger.is_marked(digest, 0.0) is None, "checked in the database"
            assert time.monotonic() - started >= TIMEOUT
            assert ledger.epoch > epoch, "every cached verification forgotten"
            assert not ledger.shared
            started = time.monotonic()
            assert await ledger.is_marked(digest, 0.0) is None
            assert time.monotonic() - started < TIMEOUT / 2, "paused: no second timeout"
        await asyncio.sleep(1.1)  # the pause ends
        answers = [await ledger.is_marked(digest, 0.0) for _ in range(2)]
        assert answers == [None, False], "trusted again after re-reading the boot marker"
        assert ledger.shared
    finally:
        await client.aclose()
