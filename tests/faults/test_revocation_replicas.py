"""Three replicas, one PostgreSQL, one Redis: a revoked secret is refused everywhere at once.

Each round warms every replica's verifier cache with a key's current secret (a /v1 request
on each, answered 200), revokes it through one replica, and presents the old secret once to
each of the others: the very first try must be a 401. The revoking replica rotates. Rounds
run in a few chains at once, each on keys of its own, so that 200 of them take seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from tests.faults.conftest import Cluster
from tests.faults.helpers import (
    KEYS,
    Evidence,
    bearer,
    create_key,
    models_status,
    v1_async_client,
    v1_client,
    wait_until,
)
from tests.support.hub import Team
from tests.support.loop import BackgroundLoop

ROUNDS = 200
AFTER_REDIS_RETURNS = 30
CHAINS = 4


@dataclass
class Tally:
    """What rounds saw: warm-ups answered 200, old secrets refused or accepted."""

    warmed: int = 0
    refused: int = 0
    accepted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    """Every secret revoked, to try again later."""

    def add(self, other: Tally) -> None:
        self.warmed += other.warmed
        self.refused += other.refused
        self.accepted += other.accepted
        self.revoked += other.revoked

    def assert_held(self, rounds: int, replicas: int) -> None:
        assert self.accepted == [], f"old secret accepted {len(self.accepted)} times"
        assert len(self.revoked) == rounds
        assert self.warmed == rounds * replicas, "each replica must have served each key first"
        assert self.refused == rounds * (replicas - 1)


class Chain:
    """One sequence of rounds, with its own clients: /v2 per replica and one for /v1."""

    def __init__(self, cluster: Cluster, team: Team) -> None:
        self.urls = [replica.url for replica in cluster.replicas]
        self.apis = [cluster.api(team, i) for i in range(len(self.urls))]
        self.v1 = v1_client()

    def warm(self, secret: str, tally: Tally) -> None:
        for url in self.urls:
            status = models_status(self.v1, url, secret)
            assert status == 200, f"warming {url} answered {status}"
            tally.warmed += 1

    def try_old(self, secret: str, revoker: int, tally: Tally) -> None:
        tally.revoked.append(secret)
        for index, url in enumerate(self.urls):
            if index == revoker:
                continue
            status = models_status(self.v1, url, secret)
            if status == 401:
                tally.refused += 1
            else:
                tally.accepted.append(
                    f"round {len(tally.revoked)} at {time.time():.3f}: revoked through "
                    f"{self.urls[revoker]}, then {url} answered {status}"
                )

    def regenerate(self, rounds: int, tally: Tally) -> None:
        """Regenerate one key `rounds` times, through each replica in turn."""
        key = create_key(self.apis[0])
        secret = key["secret_key"]
        for round_ in range(rounds):
            revoker = round_ % len(self.apis)
            self.warm(secret, tally)
            done = self.apis[revoker].put(f"{KEYS}/{key['uuid']}/regenerate")
            assert done.status_code == 200, done.text
            self.try_old(secret, revoker, tally)
            secret = done.json()["api_key_info"]["secret_key"]

    def delete(self, rounds: int, tally: Tally) -> None:
        """Create, warm and delete a key `rounds` times, deleting through each replica in turn."""
        for round_ in range(rounds):
            revoker = round_ % len(self.apis)
            key = create_key(self.apis[(round_ + 1) % len(self.apis)])
            self.warm(key["secret_key"], tally)
            done = self.apis[revoker].delete(f"{KEYS}/{key['uuid']}")
            assert done.status_code == 200, done.text
            self.try_old(key["secret_key"], revoker, tally)

    def accepted_anywhere(self, secrets: list[str]) -> list[str]:
        answers = ((s, url, models_status(self.v1, url, s)) for s in secrets for url in self.urls)
        return [f"{url} answered {status}" for _, url, status in answers if status != 401]


class Rounds:
    """Runs chains of rounds against the cluster at once and adds up what they saw."""

    def __init__(self, cluster: Cluster, team: Team) -> None:
        self.cluster = cluster
        self.chains = [Chain(cluster, team) for _ in range(CHAINS)]
        self.pool = ThreadPoolExecutor(CHAINS)

    def _spread(self, rounds: int, run: Callable[[Chain, int, Tally], None]) -> Tally:
        shares = [rounds // CHAINS + (i < rounds % CHAINS) for i in range(CHAINS)]
        tallies = [Tally() for _ in self.chains]
        running = [
            self.pool.submit(run, chain, share, tally)
            for chain, share, tally in zip(self.chains, shares, tallies, strict=True)
        ]
        total = Tally()
        for future, tally in zip(running, tallies, strict=True):
            future.result()
            total.add(tally)
        return total

    def regenerate(self, rounds: int) -> Tally:
        return self._spread(rounds, Chain.regenerate)

    def delete(self, rounds: int) -> Tally:
        return self._spread(rounds, Chain.delete)

    def accepted_anywhere(self, secrets: list[str]) -> list[str]:
        """The secrets some replica still accepts (there should be none)."""
        parts = [secrets[i::CHAINS] for i in range(CHAINS)]
        running = [
            self.pool.submit(c.accepted_anywhere, p)
            for c, p in zip(self.chains, parts, strict=True)
        ]
        return [secret for future in running for secret in future.result()]

    def open_many_redis_connections(self, secret: str, each: int = 16) -> None:
        """Verify a cached secret `each` times at once on every replica, so that each one
        holds that many Redis connections: after a Redis restart they are all dead."""

        async def burst() -> list[int]:
            async with v1_async_client(each * len(self.cluster.replicas)) as client:
                calls = [
                    client.get(replica.url + "/v1/models", headers=bearer(secret))
                    for replica in self.cluster.replicas
                    for _ in range(each)
                ]
                return [response.status_code for response in await asyncio.gather(*calls)]

        assert set(asyncio.run(burst())) == {200}

    def readiness(self) -> list[dict[str, str]]:
        chain = self.chains[0]
        return [chain.v1.get(url + "/readyz").json() for url in chain.urls]

    def close(self) -> None:
        self.pool.shutdown()
        for chain in self.chains:
            chain.v1.close()


@pytest.fixture(scope="module")
def rounds(cluster: Cluster) -> Iterator[Rounds]:
    runner = Rounds(cluster, cluster.team())
    yield runner
    runner.close()


def test_regenerate_refuses_the_old_secret_on_every_replica(rounds: Rounds) -> None:
    rounds.regenerate(ROUNDS).assert_held(ROUNDS, len(rounds.cluster.replicas))


def test_delete_refuses_the_secret_on_every_replica(rounds: Rounds) -> None:
    rounds.delete(ROUNDS).assert_held(ROUNDS, len(rounds.cluster.replicas))


def test_revocation_holds_while_redis_is_down_and_after_it_returns(rounds: Rounds) -> None:
    replicas = len(rounds.cluster.replicas)
    chain = rounds.chains[0]
    cached = create_key(chain.apis[0])
    chain.warm(cached["secret_key"], Tally())  # cached while Redis was trusted
    rounds.open_many_redis_connections(cached["secret_key"])
    rounds.cluster.redis.kill()
    try:
        assert {(r["status"], r["redis"]) for r in rounds.readiness()} == {
            ("degraded", "unavailable")
        }
        done = chain.apis[1].put(f"{KEYS}/{cached['uuid']}/regenerate")
        assert done.status_code == 200, done.text
        assert rounds.accepted_anywhere([cached["secret_key"]]) == []
        regenerated, deleted = rounds.regenerate(ROUNDS), rounds.delete(ROUNDS)
        regenerated.assert_held(ROUNDS, replicas)
        deleted.assert_held(ROUNDS, replicas)
        assert {r["status"] for r in rounds.readiness()} == {"degraded"}
    finally:
        rounds.cluster.redis.start()
    shared = {("ready", "shared through Redis")}
    wait_until(
        lambda: {(r["status"], r["revocation"]) for r in rounds.readiness()} == shared,
        "every replica to share revocations through Redis again",
        10,
    )
    assert rounds.accepted_anywhere(regenerated.revoked + deleted.revoked) == []
    rounds.regenerate(AFTER_REDIS_RETURNS).assert_held(AFTER_REDIS_RETURNS, replicas)
    rounds.delete(AFTER_REDIS_RETURNS).assert_held(AFTER_REDIS_RETURNS, replicas)


def test_control_warm_replicas_answer_from_their_caches(
    rounds: Rounds, loop: BackgroundLoop
) -> None:
    """The rounds above would pass vacuously if replicas asked the database every time.

    Revoking by SQL alone marks nothing in the ledger: a warm replica keeps accepting the
    secret from its cache, while a key no replica has seen is refused by the database. So
    the refusals above come from the ledger marks, not from an absent cache. (A replica may
    forget its cache at any time, whenever it cannot trust Redis, hence a few attempts.)
    """
    chain = rounds.chains[0]
    evidence = Evidence(rounds.cluster.database_url, loop)
    from_cache: set[str] = set()
    try:
        for _ in range(5):
            warm, cold = create_key(chain.apis[0]), create_key(chain.apis[0])
            chain.warm(warm["secret_key"], Tally())
            evidence.clear_digest_behind_the_ledger(warm["uuid"])
            evidence.clear_digest_behind_the_ledger(cold["uuid"])
            for url in chain.urls:
                if models_status(chain.v1, url, warm["secret_key"]) == 200:
                    from_cache.add(url)
                assert models_status(chain.v1, url, cold["secret_key"]) == 401
            if from_cache == set(chain.urls):
                break
    finally:
        evidence.close()
    assert from_cache == set(chain.urls), "every replica answers a warm key from its cache"
