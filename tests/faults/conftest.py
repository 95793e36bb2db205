"""Fault fixtures: replicas as real processes on a private PostgreSQL and a private Redis.

The private servers exist so that tests may kill and restart them without touching the
machine's shared ones. Everything here is session-scoped: one PostgreSQL cluster, one Redis,
three replicas, started once and shared by the fault tests (each in a team of its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.hub import Hub, Team
from tests.support.loop import BackgroundLoop
from tests.support.relay import Relay, relay
from tests.support.replicas import Replica, start_all, stop_all
from tests.support.servers import PrivatePostgres, PrivateRedis
from tests.support.upstream import CREDENTIAL

REPLICAS = 3


@dataclass
class Cluster:
    """Replicas sharing one PostgreSQL database and one Redis, as behind a load balancer.

    Each replica reaches Redis through a relay of its own, which a test may cut to partition
    that replica from Redis (`tests/support/relay.py`).
    """

    database_url: str
    redis: PrivateRedis
    replicas: list[Replica]
    env: dict[str, str]
    relays: list[Relay]
    clients: list[httpx.Client] = field(default_factory=list)

    def team(self) -> Team:
        return self.replicas[0].new_team()

    def api(self, team: Team, index: int) -> httpx.Client:
        """A /v2 client of `team` on one replica; closed with the cluster."""
        client = self.replicas[index].client(team.token)
        self.clients.append(client)
        return client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The soak runs only when asked for by name (`-m soak`, as `make soak` does)."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    soaks = [item for item in items if item.get_closest_marker("soak")]
    if soaks:
        config.hook.pytest_deselected(items=soaks)
        items[:] = [item for item in items if not item.get_closest_marker("soak")]


def assert_no_secret_in_logs(hubs: list[Hub]) -> None:
    """No secret any of these hubs handed out appears in any of their logs."""
    issued = set().union(*(hub.issued for hub in hubs))
    for hub in hubs:
        text = hub.logs() + hub.stderr()
        leaked = [secret for secret in issued if secret in text]
        assert not leaked, f"{len(leaked)} secrets appear in the logs of {hub.url}"
        assert CREDENTIAL not in text, "the upstream credential leaked"


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.init()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def private_redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@pytest.fixture(scope="session")
def cluster(
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    upstream_env: dict[str, str],
    loop: BackgroundLoop,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    """Three replicas on one PostgreSQL database and one Redis, all real processes."""
    url = private_postgres.create_database("faults")
    env = {**upstream_env, "MODELPORT_REDIS_URL": private_redis.url}
    with contextlib.ExitStack() as stack:
        relays = [_open_relay(loop, private_redis.port, stack) for _ in range(REPLICAS)]
        replicas = [
            Replica(
                url,
                tmp_path_factory.mktemp(f"replica{i}"),
                loop,
                {**env, "MODELPORT_REDIS_URL": f"redis://127.0.0.1:{relays[i].port}/0"},
            )
            for i in range(REPLICAS)
        ]
        start_all(replicas)
        running = Cluster(url, private_redis, replicas, env, relays)
        yield running
        for client in running.clients:
            client.close()
        stop_all(replicas)
    assert_no_secret_in_logs(list(replicas))


def _open_relay(loop: BackgroundLoop, port: int, stack: contextlib.ExitStack) -> Relay:
    """A relay to `port`, served by `loop` until `stack` closes."""
    context: AbstractAsyncContextManager[Relay] = relay(port)
    opened = loop.run(context.__aenter__())
    stack.callback(lambda: loop.run(context.__aexit__(None, None, None)))
    return opened
