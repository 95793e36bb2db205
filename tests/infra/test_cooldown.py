"""Deployment cooldowns: one contract, three ways to run it, then replicas sharing one Redis.

- `memory`: one process's failures and cooldowns.
- `redis`: shared through a private Redis.
- `redis down`: the Redis version with nothing listening: it must behave as `memory` does.

Each test names deployments of its own, so the runs can share one Redis. Windows and
cooldowns are fractions of a second, to keep the waits short.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from modelport.components import build_components
from modelport.config import Settings
from modelport.infra.breaker import PAUSE_AFTER_FAILURE
from modelport.infra.cooldown import (
    MAX_RETRY_AFTER,
    CooldownPolicy,
    DeploymentHealth,
    MemoryDeploymentHealth,
    RedisDeploymentHealth,
)
from modelport.infra.shared_state import SharedDeploymentHealth
from tests.support import shared_state
from tests.support.hub import TEST_SECRET
from tests.support.ports import free_port
from tests.support.servers import PrivateRedis

POLICY = CooldownPolicy(failures=3, window=1.0, seconds=0.4)
POLL = 0.05
SLACK = 0.1
"""How far apart two readings of "when" may be: a busy machine is slow between them."""


def _deployment() -> str:
    return f"model-{uuid.uuid4().hex[:8]}#1"


def _client(url: str, timeout: float = 5) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def _cooling(health: DeploymentHealth, deployment: str) -> bool:
    return health.cooling(deployment, time.monotonic())


async def _fail(health: DeploymentHealth, deployment: str, times: int) -> None:
    for _ in range(times):
        await health.failed(deployment)


async def _eventually(check: Callable[[], bool], seconds: float = 2.0) -> bool:
    """Whether `check` holds within `seconds` (another replica's poll may take a moment)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@pytest.fixture(params=["memory", "redis", "redis down", "workers", "parent gone"])
async def health(
    request: pytest.FixtureRequest, private_redis: PrivateRedis
) -> AsyncIterator[DeploymentHealth]:
    if request.param == "memory":
        yield MemoryDeploymentHealth(POLICY)
        return
    if request.param in ("workers", "parent gone"):
        async with shared_state.parent(shared_state.targets(policy=POLICY)) as line:
            if request.param == "parent gone":
                line = shared_state.parent_gone()
            worker = SharedDeploymentHealth(line, MemoryDeploymentHealth(POLICY), poll=POLL)
            await worker.start()
            yield worker
            await worker.close()
        return
    url = private_redis.url
    if request.param == "redis down":
        url = f"redis://127.0.0.1:{free_port()}/0"
    client = _client(url)
    shared = RedisDeploymentHealth(client, MemoryDeploymentHealth(POLICY), POLICY, poll=POLL)
    await shared.start()
    yield shared
    await shared.close()
    await client.aclose()


async def test_a_deployment_is_usable_until_it_has_failed_often_enough(
    health: DeploymentHealth,
) -> None:
    deployment, other = _deployment(), _deployment()
    assert not _cooling(health, deployment)
    assert health.until(deployment) is None
    await _fail(health, deployment, POLICY.failures - 1)
    await _fail(health, other, 1)
    assert not _cooling(health, deployment)
    before = time.monotonic()
    await health.failed(deployment)
    assert _cooling(health, deployment)
    assert not _cooling(health, other)
    until = health.until(deployment)
    assert until is not None
    assert before + POLICY.seconds - SLACK < until < time.monotonic() + POLICY.seconds + SLACK
    assert health.until(other) is None


async def test_a_cooldown_ends_and_the_count_starts_again(health: DeploymentHealth) -> None:
    deployment = _deployment()
    await _fail(health, deployment, POLICY.failures)
    until = health.until(deployment)
    assert until is not None
    assert not health.cooling(deployment, until)
    assert health.cooling(deployment, until - 0.01)
    await asyncio.sleep(min(until - time.monotonic(), POLICY.seconds) + 0.02)
    assert not _cooling(health, deployment)
    assert health.until(deployment) is None
    await _fail(health, deployment, POLICY.failures - 1)
    assert not _cooling(health, deployment)


async def test_workers_share_their_parent_s_cooldowns() -> None:
    async with shared_state.parent(shared_state.targets(policy=POLICY)) as line:
        one, other = (
            SharedDeploymentHealth(line, MemoryDeploymentHealth(POLICY), poll=POLL)
            for _ in range(2)
        )
        await one.start()
        await other.start()
        deployment = _deployment()
        await _fail(one, deployment, POLICY.failures - 1)
        await _fail(other, deployment, 1)  # the count is the parent's: this one trips it
        assert _cooling(other, deployment)
        assert await _eventually(lambda: _cooling(one, deployment))
        await one.close()
        await other.close()


async def test_a_worker_that_starts_learns_its_parent_s_cooldowns_in_force() -> None:
    async with shared_state.parent(shared_state.targets(policy=POLICY)) as line:
        one = SharedDeploymentHealth(line, MemoryDeploymentHealth(POLICY), poll=POLL)
        deployment = _deployment()
        await one.failed(deployment, retry_after=2.0)
        late = SharedDeploymentHealth(line, MemoryDeploymentHealth(POLICY), poll=60)
        await late.start()
        try:
            assert _cooling(late, deployment)
            assert abs((late.until(deployment) or 0) - (one.until(deployment) or 0)) < SLACK
        finally:
            await late.close()


async def test_failures_further_apart_than_the_window_do_not_add_up(
    private_redis: PrivateRedis,
) -> None:
    policy = CooldownPolicy(failures=2, window=0.2, seconds=5)
    client = _client(private_redis.url)
    healths: list[DeploymentHealth] = [
        MemoryDeploymentHealth(policy),
        RedisDeploymentHealth(client, MemoryDeploymentHealth(policy), policy),
    ]
    deployments = [_deployment() for _ in healths]
    for health, deployment in zip(healths, deployments, strict=True):
        await health.failed(deployment)
    await asyncio.sleep(policy.window + 0.05)
    for health, deployment in zip(healths, deployments, strict=True):
        await health.failed(deployment)
        assert not _cooling(health, deployment)
        await health.failed(deployment)
        assert _cooling(health, deployment)
    await client.aclose()


async def test_retry_after_cools_a_deployment_at_once_and_a_longer_one_wins(
    health: DeploymentHealth,
) -> None:
    deployment = _deployment()
    before = time.monotonic()
    await health.failed(deployment, retry_after=2.0)
    until = health.until(deployment)
    assert _cooling(health, deployment)
    assert until is not None
    assert before + 2.0 - SLACK < until < time.monotonic() + 2.0 + SLACK
    await health.failed(deployment, retry_after=0.5)
    assert until <= (health.until(deployment) or 0) < until + SLACK
    await health.failed(deployment, retry_after=4.0)
    assert (health.until(deployment) or 0) > until + 1.5


async def test_retry_after_is_capped_and_nonsense_counts_as_a_plain_failure(
    health: DeploymentHealth,
) -> None:
    capped, nonsense = _deployment(), _deployment()
    await health.failed(capped, retry_after=10**9)
    assert (health.until(capped) or math.inf) < time.monotonic() + MAX_RETRY_AFTER + SLACK
    for retry_after in (0.0, -5.0, math.nan):
        await health.failed(nonsense, retry_after=retry_after)
    assert _cooling(health, nonsense)
    assert (health.until(nonsense) or 0) < time.monotonic() + POLICY.seconds + SLACK


async def test_failures_during_a_cooldown_do_not_extend_it(health: DeploymentHealth) -> None:
    deployment = _deployment()
    await _fail(health, deployment, POLICY.failures)
    until = health.until(deployment) or 0
    await asyncio.sleep(POLICY.seconds / 2)
    await _fail(health, deployment, POLICY.failures)
    assert until <= (health.until(deployment) or 0) < until + POLICY.seconds / 4


@pytest.fixture
async def replicas(private_redis: PrivateRedis) -> AsyncIterator[list[RedisDeploymentHealth]]:
    """Three replicas' cooldowns, each with its own Redis client, all on one Redis."""
    clients = [_client(private_redis.url) for _ in range(3)]
    started = [
        RedisDeploymentHealth(client, MemoryDeploymentHealth(POLICY), POLICY, poll=POLL)
        for client in clients
    ]
    for replica in started:
        await replica.start()
    yield started
    for replica, client in zip(started, clients, strict=True):
        await replica.close()
        await client.aclose()


async def test_failures_spread_over_replicas_cool_the_deployment_for_all(
    replicas: list[RedisDeploymentHealth],
) -> None:
    deployment = _deployment()
    for replica in replicas:
        assert not _cooling(replica, deployment)
        await replica.failed(deployment)
    assert _cooling(replicas[-1], deployment)
    assert await _eventually(lambda: all(_cooling(r, deployment) for r in replicas))
    ends = [r.until(deployment) or 0 for r in replicas]
    assert max(ends) - min(ends) < SLACK


async def test_a_retry_after_seen_by_one_replica_is_honoured_by_the_others(
    replicas: list[RedisDeploymentHealth],
) -> None:
    deployment = _deployment()
    await replicas[0].failed(deployment, retry_after=1.0)
    assert await _eventually(lambda: all(_cooling(r, deployment) for r in replicas))
    ends = [r.until(deployment) or 0 for r in replicas]
    assert max(ends) - min(ends) < SLACK


async def test_a_replica_that_starts_learns_the_cooldowns_in_force(
    replicas: list[RedisDeploymentHealth], private_redis: PrivateRedis
) -> None:
    deployment = _deployment()
    await replicas[0].failed(deployment, retry_after=2.0)
    client = _client(private_redis.url)
    late = RedisDeploymentHealth(client, MemoryDeploymentHealth(POLICY), POLICY, poll=60)
    await late.start()
    try:
        assert _cooling(late, deployment)
        assert abs((late.until(deployment) or 0) - (replicas[0].until(deployment) or 0)) < SLACK
    finally:
        await late.close()
        await client.aclose()


async def test_without_redis_each_replica_keeps_its_cooldowns_and_counts_its_own() -> None:
    with PrivateRedis() as server:
        clients = [_client(server.url, timeout=0.5) for _ in range(2)]
        first, second = (
            RedisDeploymentHealth(client, MemoryDeploymentHealth(POLICY), POLICY, poll=POLL)
            for client in clients
        )
        await first.start()
        await second.start()
        try:
            known, alone = _deployment(), _deployment()
            await first.failed(known, retry_after=3.0)
            assert await _eventually(lambda: _cooling(second, known))

            server.kill()
            await asyncio.sleep(3 * POLL)  # polls meet a Redis that is gone
            await _fail(first, alone, POLICY.failures)
            assert _cooling(first, alone)
            assert not _cooling(second, alone)
            assert _cooling(first, known)
            assert _cooling(second, known)

            server.start()  # back, empty: what is cooled from now on is shared again
            back = _deployment()
            await asyncio.sleep(PAUSE_AFTER_FAILURE + 0.1)  # before Redis is asked again
            await first.failed(back, retry_after=1.0)
            assert await _eventually(lambda: _cooling(second, back))
        finally:
            for replica, client in zip((first, second), clients, strict=True):
                await replica.close()
                await client.aclose()


async def test_replicas_built_from_settings_share_their_cooldowns(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=private_redis.url,
        secret=TEST_SECRET,
        cooldown_failures=2,
        cooldown_window_seconds=5,
        cooldown_seconds=2,
    )
    first, second = build_components(settings), build_components(settings)
    deployment = _deployment()
    try:
        await first.health.start()
        await second.health.start()
        await first.health.failed(deployment)
        assert not _cooling(first.health, deployment)
        await first.health.failed(deployment)
        assert _cooling(first.health, deployment)
        assert (first.health.until(deployment) or 0) > time.monotonic() + 1.5
        assert await _eventually(lambda: _cooling(second.health, deployment))
    finally:
        await first.close()
        await second.close()
