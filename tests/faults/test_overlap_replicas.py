"""Three replicas, one PostgreSQL, one Redis: an overlap's old secret works until its end on
every replica, and on none after; a later regenerate or delete stops it everywhere at once.

Replicas run on this machine, so they and the test read one clock: a request answered
before the overlap's end was verified before it, and one sent after it was verified after.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
import redis

from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.infra.revocations import MARK_PREFIX
from tests.faults.conftest import Cluster
from tests.faults.helpers import KEYS, create_key, models_status, v1_client
from tests.support.hub import TEST_SECRET

OVERLAP = 2
AFTER = 0.3
"""Seconds the old secret keeps being tried after the overlap's end."""


@pytest.fixture(scope="module")
def v1() -> Iterator[httpx.Client]:
    with v1_client() as client:
        yield client


def regenerate(api: httpx.Client, key_id: str, overlap: int) -> dict[str, str]:
    done = api.put(f"{KEYS}/{key_id}/regenerate", json={"overlap_seconds": overlap})
    assert done.status_code == 200, done.text
    info: dict[str, str] = done.json()["api_key_info"]
    return info


def test_the_old_secret_works_on_every_replica_until_the_end_and_on_none_after(
    cluster: Cluster, v1: httpx.Client
) -> None:
    team = cluster.team()
    apis = [cluster.api(team, i) for i in range(len(cluster.replicas))]
    urls = [replica.url for replica in cluster.replicas]
    key = create_key(apis[0])
    old = key["secret_key"]
    assert [models_status(v1, url, old) for url in urls] == [200] * len(urls)  # cached

    info = regenerate(apis[1], key["uuid"], OVERLAP)
    end = datetime.fromisoformat(info["old_secret_expires_at"]).timestamp()
    answers: list[tuple[int, float, int, float]] = []
    """Which replica, when the request was sent, its status, when it was answered."""

    def each_replica() -> None:
        for index, url in enumerate(urls):
            sent = time.time()
            answers.append((index, sent, models_status(v1, url, old), time.time()))

    while time.time() < end + AFTER:
        each_replica()
    each_replica()  # sent after the end, however slow the rounds before were

    before = [(i, status) for i, _, status, answered in answers if answered < end]
    after = [(i, status) for i, sent, status, _ in answers if sent > end]
    assert {i for i, _ in before} == {i for i, _ in after} == set(range(len(urls)))
    assert {status for _, status in before} == {200}, "refused during the overlap"
    assert {status for _, status in after} == {401}, "accepted after the overlap's end"
    assert [models_status(v1, url, info["secret_key"]) for url in urls] == [200] * len(urls)
    listed = apis[2].get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]
    assert "old_secret_expires_at" not in listed


@pytest.mark.parametrize("action", ["regenerate", "delete"])
def test_ending_an_overlap_early_reaches_replicas_that_cached_the_old_secret(
    cluster: Cluster, v1: httpx.Client, action: str
) -> None:
    """An overlap outlives the regenerate's own ledger mark (11 minutes; an overlap may last
    a day), after which replicas cache the old secret. Deleting the mark stands for those
    minutes passing. A regenerate or delete then must mark the old secret itself."""
    team = cluster.team()
    apis = [cluster.api(team, i) for i in range(len(cluster.replicas))]
    others = [replica.url for replica in cluster.replicas[1:]]
    key = create_key(apis[0])
    old = key["secret_key"]
    info = regenerate(apis[0], key["uuid"], 3600)
    digest = Digester(Settings(secret=TEST_SECRET).server_secret()).digest(old)
    with redis.Redis.from_url(cluster.redis.url) as client:
        assert client.delete(MARK_PREFIX + digest.hex()) == 1
    for _ in range(2):  # read from the database, then from the cache
        assert [models_status(v1, url, old) for url in others] == [200] * len(others)

    if action == "regenerate":
        regenerate(apis[0], key["uuid"], 3600)
    else:
        assert apis[0].delete(f"{KEYS}/{key['uuid']}").status_code == 200

    assert [models_status(v1, url, old) for url in others] == [401] * len(others)
    expected = 200 if action == "regenerate" else 401
    assert [models_status(v1, url, info["secret_key"]) for url in others] == [expected] * 2
