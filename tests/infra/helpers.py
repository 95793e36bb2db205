"""What the contract tests of the stores that reserve and settle (`test_key_counters.py`,
`test_credit.py`) share: the ways each contract runs, the database's figures as the stores'
loaders read them, and the Redis clients the Redis runs use."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from tests.support.ports import free_port
from tests.support.servers import PrivateRedis

RUNS = ["memory", "redis", "redis down", "workers", "parent gone"]
"""Each contract's runs: the test modules' docstrings say what each one is."""


class Books:
    """What the database says a key spent (in a month, for the monthly spend; since its first
    top-up, for credit), counting the reads."""

    def __init__(self) -> None:
        self.spent = 0
        self.reads = 0

    async def __call__(self, key_id: uuid.UUID, month: str = "") -> int:
        self.reads += 1
        return self.spent


def redis_client(url: str) -> aioredis.Redis:
    # Generous timeouts: a slow answer on a busy machine must not send the `redis` runs to
    # the fallback (the `redis down` runs are there for that).
    return aioredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@asynccontextmanager
async def run_client(run: str, private_redis: PrivateRedis) -> AsyncIterator[aioredis.Redis]:
    """A client of the private Redis; in the `redis down` run, of a port nothing listens on."""
    url = f"redis://127.0.0.1:{free_port()}/0" if run == "redis down" else private_redis.url
    client = redis_client(url)
    try:
        yield client
    finally:
        await client.aclose()
