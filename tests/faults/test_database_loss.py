"""Losing the database: PostgreSQL stops under load through two replicas, then comes back.

While it is away every request fails fast with a clear 503 (`/v2`: `service_unavailable`;
`/v1`: the OpenAI error envelope), never a 500 or a hang, and `/readyz` says the database is
unavailable. Once it is back the replicas recover on their own, without a restart.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.conftest import Cluster
from tests.faults.helpers import (
    CHAT,
    KEYS,
    bearer,
    chat_body,
    create_key,
    v1_async_client,
    v1_client,
)
from tests.support.servers import PrivatePostgres

REPLICAS = 2
WORKERS_PER_FAMILY = 2
HEALTHY_SECONDS = 1.0
AWAY_SECONDS = 4.0
RECOVERY_SECONDS = 10.0
"""How soon after the database is back every replica must answer 200 again."""
SLOWEST_SECONDS = 5.0
"""No request may take longer than this, outage or not."""


@dataclass
class Answer:
    family: str
    replica: int
    started: float
    seconds: float
    status: int | None
    body: Any = None
    error: str | None = None


@dataclass
class Traffic:
    cluster: Cluster
    token: str
    secret: str
    answers: list[Answer] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, client: httpx.AsyncClient, family: str, replica: int) -> None:
        url = self.cluster.replicas[replica].url
        while not self.stop.is_set():
            started = time.monotonic()
            answer = Answer(family, replica, started, 0.0, None)
            try:
                if family == "v1":
                    response = await client.post(
                        url + CHAT, json=chat_body(), headers=bearer(self.secret)
                    )
                else:
                    response = await client.get(url + KEYS, headers=bearer(self.token))
                answer.status = response.status_code
                answer.body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                answer.error = repr(exc)
            answer.seconds = time.monotonic() - started
            self.answers.append(answer)
            await asyncio.sleep(0.02)

    def recovered(self, since: float) -> bool:
        """Every replica has answered 200 on both families to a request sent after `since`."""
        good = {
            (a.family, a.replica) for a in self.answers if a.started > since and a.status == 200
        }
        return len(good) == 2 * REPLICAS


@dataclass
class Timeline:
    down: float
    back: float
    recovered: float
    readiness: list[tuple[int, Any]]
    """What /readyz said on each replica while the database was away."""


async def _outage(traffic: Traffic, postgres: PrivatePostgres) -> Timeline:
    """Run the traffic, stop PostgreSQL, start it again, wait for the replicas to recover."""
    async with v1_async_client(16, timeout=SLOWEST_SECONDS * 3) as client:
        workers = [
            asyncio.create_task(traffic.run(client, family, replica))
            for family in ("v1", "v2")
            for replica in range(REPLICAS)
            for _ in range(WORKERS_PER_FAMILY)
        ]
        await asyncio.sleep(HEALTHY_SECONDS)
        await asyncio.to_thread(postgres.stop)
        down = time.monotonic()
        await asyncio.sleep(AWAY_SECONDS / 2)
        readiness = [
            await client.get(traffic.cluster.replicas[i].url + "/readyz") for i in range(REPLICAS)
        ]
        await asyncio.sleep(AWAY_SECONDS / 2)
        await asyncio.to_thread(postgres.start)
        back = time.monotonic()
        while not traffic.recovered(back) and time.monotonic() - back < RECOVERY_SECONDS:
            await asyncio.sleep(0.05)
        recovered = time.monotonic()
        await asyncio.sleep(1.0)
        traffic.stop.set()
        await asyncio.gather(*workers)
    return Timeline(down, back, recovered, [(r.status_code, r.json()) for r in readiness])


def test_replicas_answer_503_while_the_database_is_away_and_recover(
    cluster: Cluster, private_postgres: PrivatePostgres
) -> None:
    team = cluster.team()
    secret = create_key(cluster.api(team, 0), "outage")["secret_key"]
    traffic = Traffic(cluster, team.token, secret)
    try:
        timeline = asyncio.run(_outage(traffic, private_postgres))
    finally:
        private_postgres.ensure_started()  # for the tests after this one, whatever happened
    down, back, answers = timeline.down, timeline.back, traffic.answers

    assert [a for a in answers if a.error is not None] == [], "no transport errors, no hangs"
    assert max(a.seconds for a in answers) < SLOWEST_SECONDS
    assert {a.status for a in answers} <= {200, 503}
    refused = [a for a in answers if a.status == 503]
    assert {(a.family, a.replica) for a in refused if down <= a.started < back} == {
        (family, replica) for family in ("v1", "v2") for replica in range(REPLICAS)
    }, "each replica refused each family while the database was away"
    for answer in refused:
        if answer.family == "v2":
            assert answer.body["id"] == "service_unavailable", answer.body
            assert answer.body["request_id"]
            message = answer.body["message"]
        else:
            error = answer.body["error"]
            assert (error["type"], error["code"]) == ("server_error", "service_unavailable")
            message = error["message"]
        assert "database is unavailable" in message
    for status, body in timeline.readiness:
        assert status == 503
        assert (body["status"], body["database"]) == ("unavailable", "unavailable")

    assert traffic.recovered(back), f"not every replica recovered within {RECOVERY_SECONDS}s"
    last_refused = max(a.started + a.seconds for a in refused)
    print(
        f"{len(answers)} requests, {len(refused)} answered 503, slowest "
        f"{max(a.seconds for a in answers):.2f}s; every replica answered 200 "
        f"{timeline.recovered - back:.2f}s after the restart; last 503 at "
        f"{last_refused - back:+.2f}s"
    )
    late = [a for a in answers if a.started > timeline.recovered and a.status != 200]
    assert late == [], "once recovered, every request succeeds"
    with v1_client(timeout=5) as client:
        for replica in cluster.replicas[:REPLICAS]:
            ready = client.get(replica.url + "/readyz")
            assert (ready.status_code, ready.json()["database"]) == (200, "ok")
