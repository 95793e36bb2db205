"""The Redis client `serve` wires (`build_components`): more calls at once than connections.

A replica's requests overlap: one settles its limits after its response has left while the
client's next request begins. Past the pool's size a call must wait for a connection, not
fail: a failed call makes the replica give up on Redis and check every key in the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import ConnectionPool

from modelport.components import REDIS_CONNECTIONS, build_components
from modelport.config import Settings
from tests.support.hub import TEST_SECRET
from tests.support.servers import PrivateRedis

CALLS = REDIS_CONNECTIONS + 44


async def _open_every_connection(pool: ConnectionPool) -> None:
    """Open the pool's connections one at a time, so the burst below waits only for Redis.

    Opened in the burst itself, 256 connections keep this process busy for about 0.15 s while
    each call's 0.5 s timeout runs: on a CI machine busy with other tests, that once ran out
    and made the ledger give up on Redis, which is its right when Redis answers that late.
    """
    # redis-py's deprecation decorator leaves `get_connection` untyped
    held = [await pool.get_connection() for _ in range(REDIS_CONNECTIONS)]  # type: ignore[no-untyped-call]
    for connection in held:
        await pool.release(connection)


async def test_more_calls_at_once_than_connections_all_answer(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=None, redis_url=private_redis.url, secret=TEST_SECRET
    )
    hub = build_components(settings)
    assert hub.redis is not None
    digest = hub.digester.digest("mp_probe")
    try:
        await _open_every_connection(hub.redis.connection_pool)
        await hub.ledger.is_marked(digest, 0.0)  # adopts the boot marker: shared from now on
        epoch = hub.ledger.epoch
        answers = await asyncio.gather(*(hub.ledger.is_marked(digest, 0.0) for _ in range(CALLS)))
        assert answers == [False] * CALLS, "every call answered by Redis"
        assert hub.ledger.epoch == epoch, "the ledger never gave up on Redis"
        assert hub.ledger.shared
    finally:
        await hub.close()
