"""Per-key limits hold across three replicas under concurrency.

- Monthly spend: 64 requests at once, spread over the replicas, against a key whose limit
  is reached part-way. `infra/spend.py` bounds the overshoot by the requests in flight when
  the limit was reached; here every request costs the same and its reservation equals its
  cost, so the bound is checked as spend - limit <= in-flight x cost.
- Requests a minute: 30 requests round-robin within one window, limit 10: exactly 10 pass.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal

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
AFFORDABLE = 20
SPEND_LIMIT = AFFORDABLE * COST + COST // 2
FALLBACK = (
    "overshoot past the bound: did a replica miss a Redis answer (0.5 s timeout on a starved "
    "machine) and enforce the limit on its own for a moment (infra/spend.py fallback)?"
)
RPM = 10
RPM_REQUESTS = 30
WINDOW = 60
RPM_MARGIN = 20.0
"""Seconds the RPM burst may take; it starts only with at least this much of a window left."""


@dataclass
class Timed:
    status: int
    sent: float
    done: float


def _body() -> dict[str, object]:
    # 44 characters estimate as the fake's 11 prompt tokens; max_tokens is its 7: the
    # reservation is exactly the cost.
    return chat_body(max_tokens=COMPLETION_TOKENS)


async def _burst(urls: list[str], secret: str, count: int) -> list[Timed]:
    """`count` chat requests at once, round-robin over `urls`."""
    async with v1_async_client(count) as client:

        async def one(index: int) -> Timed:
            sent = time.monotonic()
            response = await client.post(
                urls[index % len(urls)] + CHAT, json=_body(), headers=bearer(secret)
            )
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
            return Timed(response.status_code, sent, time.monotonic())

        return list(await asyncio.gather(*(one(i) for i in range(count))))


@pytest.fixture(scope="module", autouse=True)
def _warm(cluster: Cluster) -> None:
    """Take every replica through the limit paths once before the bursts.

    A cold replica (the kill test restarts one) answers its first requests slowly; on a
    busy machine a first Redis call can then pass its 0.5 s timeout, and for a moment the
    replica enforces limits on its own (the documented fallback), which is not what the
    bursts below measure.
    """
    api = cluster.api(cluster.team(), 0)
    key = create_key(api, "warm", monthly_spend_limit="100", rpm_limit=1000)
    with v1_client() as client:
        for replica in cluster.replicas:
            for _ in range(3):
                warmed = client.post(
                    replica.url + CHAT, json=_body(), headers=bearer(key["secret_key"])
                )
                assert warmed.status_code == 200, warmed.text
    time.sleep(1.1)  # a breaker tripped by a slow first call is closed again


def _most_at_once(answers: list[Timed]) -> int:
    """The most admitted requests ever outstanding together, as the client saw them."""
    edges = sorted([(a.sent, 1) for a in answers] + [(a.done, -1) for a in answers])
    most = running = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_spend_limit_overshoot_stays_within_the_bound(
    cluster: Cluster, loop: BackgroundLoop
) -> None:
    assert COST == 31_250_000
    api = cluster.api(cluster.team(), 0)
    key = create_key(api, "budget", monthly_spend_limit=str(Decimal(SPEND_LIMIT) / 10**12))
    urls = [replica.url for replica in cluster.replicas]
    answers = asyncio.run(_burst(urls, key["secret_key"], CONCURRENT))
    admitted = [a for a in answers if a.status == 200]
    assert {a.status for a in answers} == {200, 429}, "some requests must be refused"
    evidence = Evidence(cluster.database_url, loop)
    try:
        spend = evidence.spend(key["uuid"])
    finally:
        evidence.close()
    assert spend == len(admitted) * COST, "every admitted request is charged, nothing more"
    in_flight = _most_at_once(admitted)
    print(f"admitted {len(admitted)}, spend {spend}, limit {SPEND_LIMIT}, in flight {in_flight}")
    assert spend - SPEND_LIMIT <= in_flight * COST, FALLBACK
    # Reservations equal costs here, so only the request that crossed the limit overshoots.
    assert SPEND_LIMIT <= spend < SPEND_LIMIT + COST, FALLBACK
    assert len(admitted) == AFFORDABLE + 1


def _seconds_left_in_window() -> float:
    return WINDOW - time.time() % WINDOW


def test_rpm_limit_holds_across_three_replicas(cluster: Cluster) -> None:
    api = cluster.api(cluster.team(), 1)
    key = create_key(api, "paced", rpm_limit=RPM)
    if _seconds_left_in_window() < RPM_MARGIN:
        time.sleep(_seconds_left_in_window() + 0.05)
    window_end = time.time() + _seconds_left_in_window()
    urls = [replica.url for replica in cluster.replicas]
    answers = asyncio.run(_burst(urls, key["secret_key"], RPM_REQUESTS))
    assert time.time() < window_end, "the burst outlasted its window; the machine is too slow"
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] * RPM + [429] * (RPM_REQUESTS - RPM)
