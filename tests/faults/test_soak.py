"""Soak (`make soak`, not `make test`): ten minutes of steady load through three replicas.

Plain and streaming chat requests go round-robin over the cluster at a fixed rate while a
background loop creates, renames, regenerates and deletes keys (each new secret used once,
each replaced one refused on another replica). At the end:
- no 5xx and no transport error, ever;
- every completed request has exactly one usage row;
- memory is flat on every replica: the last minute's average RSS is within 10% of the
  first minute's.
`MODELPORT_SOAK_SECONDS` shortens the run to try the test itself.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from tests.faults.conftest import Cluster
from tests.faults.helpers import Evidence, bearer, create_key, v1_async_client
from tests.faults.traffic import KeyOperator, Sent, send_plain, send_stream
from tests.support.loop import BackgroundLoop

SECONDS = float(os.environ.get("MODELPORT_SOAK_SECONDS", "600"))
RATE = 20.0
"""Requests a second, over all replicas."""
WORKERS = 16
STREAM_EVERY = 4
"""One request in this many streams."""
SAMPLE_EVERY = 5.0
EDGE = min(60.0, SECONDS / 3)
"""The first and last stretch whose RSS averages are compared."""
GROWTH = 0.10


@dataclass
class Soak:
    cluster: Cluster
    secret: str
    operator: KeyOperator
    sent: list[Sent] = field(default_factory=list)
    rss: list[tuple[float, list[int]]] = field(default_factory=list)
    key_problems: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    _next: int = 0

    def over(self) -> bool:
        return time.monotonic() - self.started >= SECONDS

    async def requests(self, client: httpx.AsyncClient) -> None:
        """Send requests on a fixed schedule: request n leaves at n / RATE seconds."""
        urls = [replica.url for replica in self.cluster.replicas]
        while not self.over():
            n, self._next = self._next, self._next + 1
            await asyncio.sleep(max(0.0, self.started + n / RATE - time.monotonic()))
            send = send_stream if n % STREAM_EVERY == 0 else send_plain
            self.sent.append(await send(client, urls[n % len(urls)], self.secret))

    async def key_operations(self, v1: httpx.AsyncClient) -> None:
        urls = [replica.url for replica in self.cluster.replicas]
        round_ = 0
        while not self.over():
            round_ += 1
            key = await self.operator.lifecycle(f"soak{round_}", delete=False)
            if key is None:
                self.key_problems.append(f"round {round_}: {self.operator.refused[-1:]}")
                return
            url = urls[round_ % len(urls)]
            if (await v1.get(url + "/v1/models", headers=bearer(key.secret))).status_code != 200:
                self.key_problems.append(f"round {round_}: new secret refused")
            if (
                await v1.get(url + "/v1/models", headers=bearer(key.retired[-1]))
            ).status_code != 401:
                self.key_problems.append(f"round {round_}: replaced secret accepted")
            if await self.operator.operate(key, "delete", None) is None:
                self.key_problems.append(f"round {round_}: delete failed")
            await asyncio.sleep(0.25)

    async def sample_memory(self) -> None:
        while not self.over():
            self.rss.append(
                (time.monotonic() - self.started, [r.rss_kib() for r in self.cluster.replicas])
            )
            await asyncio.sleep(SAMPLE_EVERY)


async def _run(cluster: Cluster, team_token: str, secret: str) -> Soak:
    apis = [r.async_client(team_token) for r in cluster.replicas]
    async with v1_async_client(WORKERS + 1) as client:
        soak = Soak(cluster, secret, KeyOperator(apis))
        await asyncio.gather(
            *(soak.requests(client) for _ in range(WORKERS)),
            soak.key_operations(client),
            soak.sample_memory(),
        )
    for api in apis:
        await api.aclose()
    return soak


def _memory_report(soak: Soak) -> list[tuple[str, int, int, int, float]]:
    """Per replica: (url, first-stretch avg, last-stretch avg, max, growth)."""
    end = soak.rss[-1][0]
    report = []
    for index, replica in enumerate(soak.cluster.replicas):
        first = [s[index] for t, s in soak.rss if t <= EDGE]
        last = [s[index] for t, s in soak.rss if t >= end - EDGE]
        top = max(s[index] for _, s in soak.rss)
        start, finish = int(statistics.mean(first)), int(statistics.mean(last))
        report.append((replica.url, start, finish, top, finish / start - 1))
    return report


def _quantile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))]


def _print_summary(soak: Soak, elapsed: float, rows: dict[str, int], lost: int) -> None:
    sent = soak.sent
    statuses = Counter(s.status if s.error is None else s.error for s in sent)
    seconds = [s.seconds for s in sent]
    print(f"\n--- soak: {elapsed:.0f}s through 3 replicas on PostgreSQL + Redis ---")
    print(f"requests {len(sent)} ({len(sent) / elapsed:.1f}/s), by status {dict(statuses)}")
    print(
        f"streams {sum(1 for s in sent if s.kind == 'stream')}, "
        f"completed {sum(1 for s in sent if s.completed)}"
    )
    print(
        f"latency p50 {_quantile(seconds, 0.5) * 1000:.0f} ms, "
        f"p99 {_quantile(seconds, 0.99) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms"
    )
    print(f"usage rows {len(rows)}; completed requests without exactly one row: {lost}")
    print(
        f"key operations acknowledged {soak.operator.acknowledged}, "
        f"refused {soak.operator.refused}, failed {soak.operator.failed}, "
        f"problems {soak.key_problems}"
    )
    for url, start, finish, top, growth in _memory_report(soak):
        print(
            f"RSS {url}: first {EDGE:.0f}s avg {start} KiB, last {EDGE:.0f}s avg {finish} KiB, "
            f"max {top} KiB, growth {growth:+.1%}"
        )


@pytest.mark.soak
def test_soak(cluster: Cluster, loop: BackgroundLoop) -> None:
    team = cluster.team()
    key = create_key(cluster.api(team, 0), "soak")
    soak = asyncio.run(_run(cluster, team.token, key["secret_key"]))
    elapsed = time.monotonic() - soak.started
    evidence = Evidence(cluster.database_url, loop)
    try:
        rows = evidence.rows_per_request([key["uuid"]])
    finally:
        evidence.close()
    completed = [s for s in soak.sent if s.completed]
    lost = [s for s in completed if rows.get(str(s.request_id)) != 1]
    _print_summary(soak, elapsed, rows, len(lost))

    bad = [s for s in soak.sent if s.error is not None or s.status is None or s.status >= 500]
    assert bad == [], f"{len(bad)} requests failed with a 5xx or a transport error"
    assert {s.status for s in soak.sent} == {200}
    assert len(completed) == len(soak.sent)
    assert lost == []
    assert soak.operator.refused == []
    assert soak.operator.failed == []
    assert soak.key_problems == []
    growth = [report[-1] for report in _memory_report(soak)]
    assert all(g < GROWTH for g in growth), f"memory grew on a replica: {growth}"
