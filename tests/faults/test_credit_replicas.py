"""Prepaid credit holds across three replicas on PostgreSQL and Redis under concurrency.

64 requests at once, spread over the replicas, against a key whose credit is spent part-way:
as for the monthly spend (tests/faults/test_limits_replicas.py), every request costs the same
and reserves its cost, so only the request that crossed the credit overshoots it. Then a
top-up on one replica lets the key continue on another.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest

from tests.faults.conftest import Cluster
from tests.faults.helpers import (
    CHAT,
    Evidence,
    bearer,
    chat_body,
    create_key,
    v1_async_client,
    v1_client,
)
from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.loop import BackgroundLoop
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS

CONCURRENT = 64
COST = int((PROMPT_TOKENS * CHAT_INPUT_PRICE + COMPLETION_TOKENS * CHAT_OUTPUT_PRICE) * 10**6)
"""Picodollars one request costs with the fake upstream (its reservation is the same)."""
CREDIT = 640_000_000
"""$0.00064: 20.48 requests' worth, so the 21st is admitted and crosses it."""
FALLBACK = (
    "overshoot past the bound: did a replica miss a Redis answer on a starved machine and "
    "enforce the credit on its own for a moment (infra/credit.py fallback)?"
)


def _body() -> dict[str, object]:
    return chat_body(max_tokens=COMPLETION_TOKENS)


def _top_up(api: httpx.Client, key_id: str, picousd: int) -> None:
    amount = str(Decimal(picousd) / 10**12)
    answer = api.post(f"/v2/gen-ai/models/api_keys/{key_id}/credit", json={"amount_usd": amount})
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module", autouse=True)
def _warm(cluster: Cluster) -> None:
    """Take every replica through the credit path once, so that a cold replica's slow first
    Redis call does not send it to its fallback during the burst."""
    api = cluster.api(cluster.team(), 0)
    key = create_key(api, "warm-credit")
    _top_up(api, key["uuid"], 10**12)
    with v1_client() as client:
        for replica in cluster.replicas:
            for _ in range(2):
                warmed = client.post(
                    replica.url + CHAT, json=_body(), headers=bearer(key["secret_key"])
                )
                assert warmed.status_code == 200, warmed.text
    time.sleep(1.1)  # a breaker tripped by a slow first call is closed again


async def _burst(urls: list[str], secret: str) -> list[int]:
    async with v1_async_client(CONCURRENT) as client:
        answers = await asyncio.gather(
            *(
                client.post(urls[i % len(urls)] + CHAT, json=_body(), headers=bearer(secret))
                for i in range(CONCURRENT)
            )
        )
    return [answer.status_code for answer in answers]


def test_credit_overshoot_stays_within_the_bound_and_a_top_up_reaches_every_replica(
    cluster: Cluster, loop: BackgroundLoop
) -> None:
    assert COST == 31_250_000
    team = cluster.team()
    api = cluster.api(team, 0)
    key = create_key(api, "prepaid")
    _top_up(api, key["uuid"], CREDIT)
    urls = [replica.url for replica in cluster.replicas]
    codes = asyncio.run(_burst(urls, key["secret_key"]))
    assert set(codes) == {200, 402}, codes
    admitted = codes.count(200)
    evidence = Evidence(cluster.database_url, loop)
    try:
        spend = evidence.spend(key["uuid"])
    finally:
        evidence.close()
    assert spend == admitted * COST, "every admitted request is charged, nothing more"
    assert CREDIT <= spend < CREDIT + COST, FALLBACK
    assert admitted == CREDIT // COST + 1

    with v1_client() as client:
        for replica in cluster.replicas:
            refused = client.post(
                replica.url + CHAT, json=_body(), headers=bearer(key["secret_key"])
            )
            assert refused.status_code == 402
        _top_up(cluster.api(team, 2), key["uuid"], 16 * COST)
        for replica in cluster.replicas:
            served = client.post(
                replica.url + CHAT, json=_body(), headers=bearer(key["secret_key"])
            )
            assert served.status_code == 200, served.text
    remaining = api.get(f"/v2/gen-ai/models/api_keys/{key['uuid']}/credit").json()["credit"]
    evidence = Evidence(cluster.database_url, loop)
    try:
        spent = evidence.spend(key["uuid"])
    finally:
        evidence.close()
    assert Decimal(remaining["remaining"]) * 10**12 == CREDIT + 16 * COST - spent
