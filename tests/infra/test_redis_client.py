"""The Redis client `serve` wires (`build_components`): more calls at once than connections.

A replica's requests overlap: one settles its limits after its response has left while the
client's next request begins. Past the pool's size a call must wait for a connection, not
fail: a failed call makes the replica give up on Redis and check every key in the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelport.components import REDIS_CONNECTIONS, build_components
from modelport.config import Settings
from tests.support.hub import TEST_SECRET
from tests.support.servers import PrivateRedis

CALLS = REDIS_CONNECTIONS + 44


async def test_more_calls_at_once_than_connections_all_answer(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=None, redis_url=private_redis.url, secret=TEST_SECRET
    )
    hub = build_components(settings)
    digest = hub.digester.digest("mp_probe")
    try:
        await hub.ledger.is_marked(digest, 0.0)  # adopts the boot marker: shared from now on
        epoch = hub.ledger.epoch
        answers = await asyncio.gather(*(hub.ledger.is_marked(digest, 0.0) for _ in range(CALLS)))
        assert answers == [False] * CALLS, "every call answered by Redis"
        assert hub.ledger.epoch == epoch, "the ledger never gave up on Redis"
        assert hub.ledger.shared
    finally:
        await hub.close()
