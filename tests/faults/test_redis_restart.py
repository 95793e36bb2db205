"""Redis restarts: the hub's Redis client recovers at once, so a revoke's mark is written.

A restart leaves every pooled connection dead. If the first command on one failed, a revoke
made right then would commit without its mark, while replicas holding fresh connections
saw a healthy Redis with no mark and trusted their caches: the old secret would work. The
wiring is the one `modelport serve` uses (`build_components`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from modelport.components import build_components
from modelport.config import Settings
from modelport.infra.revocations import MARK_PREFIX
from tests.support.hub import TEST_SECRET
from tests.support.servers import PrivateRedis

POOLED = 8


async def _mark_after_restart(redis: PrivateRedis, data_dir: Path) -> bool:
    settings = Settings(
        data_dir=data_dir, database_url=None, redis_url=redis.url, secret=TEST_SECRET
    )
    hub = build_components(settings)
    probe = hub.digester.digest("probe")
    revoked = hub.digester.digest("revoked")
    try:
        # Connections in use together: the pool now holds this many.
        await asyncio.gather(*(hub.ledger.is_marked(probe, 0.0) for _ in range(POOLED)))
        await asyncio.to_thread(redis.kill)
        await asyncio.to_thread(redis.start)
        await hub.ledger.mark(revoked)
    finally:
        await hub.close()
    checker = aioredis.Redis.from_url(redis.url)
    try:
        return bool(await checker.exists(MARK_PREFIX + revoked.hex()))
    finally:
        await checker.aclose()


def test_a_revoke_right_after_a_redis_restart_writes_its_mark(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    assert asyncio.run(_mark_after_restart(private_redis, tmp_path))
