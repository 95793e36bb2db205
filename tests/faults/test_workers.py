"""`serve --workers 3` on SQLite with no Redis: one server, whichever worker answers.

- A revoke through any worker is honoured by every worker at once: 200 rounds, each warming
  the key in every worker's cache first (the log says which worker answered), then
  presenting the old secret on fresh connections until every worker has answered it: no
  acceptance.
- A key's requests a minute count once for the server, not once per worker.
- A worker killed with -9 under load (plain and streaming): every completed request has
  exactly one usage row, none has two, and the worker's replacement serves.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.conftest import assert_no_secret_in_logs
from tests.faults.helpers import (
    CHAT,
    KEYS,
    Evidence,
    bearer,
    chat_body,
    create_key,
    v1_async_client,
    wait_until,
)
from tests.faults.traffic import Sent, send_plain, send_stream
from tests.support.databases import sqlite_url
from tests.support.hub import Team
from tests.support.loop import BackgroundLoop
from tests.support.workers import FRESH, Workers, until_every_worker

WORKERS = 3
ROUNDS = 200
CHAINS = 4


@pytest.fixture(scope="module")
def server(
    upstream_env: dict[str, str],
    loop: BackgroundLoop,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Workers]:
    folder = tmp_path_factory.mktemp("workers")
    env = {**upstream_env, "MODELPORT_REDIS_URL": ""}
    workers = Workers(sqlite_url(folder), folder / "hub", loop, env, WORKERS)
    workers.start()
    yield workers
    workers.stop()
    assert_no_secret_in_logs([workers])


def _models(v1: httpx.Client, url: str, secret: str) -> httpx.Response:
    return v1.get(url + "/v1/models", headers={**bearer(secret), **FRESH})


class Chain:
    """Rounds of warm, revoke, try the old secret, on keys of its own."""

    def __init__(self, server: Workers, team: Team) -> None:
        self.server = server
        self.api = server.client(team.token)
        self.v1 = httpx.Client(timeout=10)
        self.accepted: list[str] = []
        self.refused = 0

    def warm(self, secret: str) -> None:
        answers = until_every_worker(self.server, lambda: _models(self.v1, self.server.url, secret))
        assert {a.status_code for a in answers} == {200}

    def try_old(self, secret: str, round_: int) -> None:
        answers = until_every_worker(self.server, lambda: _models(self.v1, self.server.url, secret))
        for answer in answers:
            if answer.status_code == 401:
                self.refused += 1
            else:
                worker = self.server.log.worker_of.get(answer.headers["x-request-id"])
                self.accepted.append(f"round {round_}: worker {worker} said {answer.status_code}")

    def run(self, rounds: int) -> None:
        key = create_key(self.api)
        secret = key["secret_key"]
        for round_ in range(rounds):
            if round_ % 2:
                self.warm(secret)
                done = self.api.put(f"{KEYS}/{key['uuid']}/regenerate", headers=FRESH)
                assert done.status_code == 200, done.text
                self.try_old(secret, round_)
                secret = done.json()["api_key_info"]["secret_key"]
            else:
                doomed = create_key(self.api)
                self.warm(doomed["secret_key"])
                done = self.api.delete(f"{KEYS}/{doomed['uuid']}", headers=FRESH)
                assert done.status_code == 200, done.text
                self.try_old(doomed["secret_key"], round_)

    def close(self) -> None:
        self.api.close()
        self.v1.close()


def test_a_revoke_in_one_worker_is_honoured_by_every_worker(server: Workers) -> None:
    team = server.new_team()
    chains = [Chain(server, team) for _ in range(CHAINS)]
    started = time.monotonic()
    with ThreadPoolExecutor(CHAINS) as pool:
        for done in [pool.submit(chain.run, ROUNDS // CHAINS) for chain in chains]:
            done.result()
    accepted = [line for chain in chains for line in chain.accepted]
    refused = sum(chain.refused for chain in chains)
    for chain in chains:
        chain.close()
    seconds = time.monotonic() - started
    print(f"{ROUNDS} rounds, {refused} old-secret requests refused, in {seconds:.1f} s")
    assert accepted == [], f"old secret accepted {len(accepted)} times: {accepted[:5]}"
    assert refused >= ROUNDS * WORKERS


RPM = 10
RPM_REQUESTS = 30
WINDOW = 60


def test_c_a_key_rpm_limit_counts_once_for_every_worker(server: Workers) -> None:
    with server.client(server.new_team().token) as api:
        key = create_key(api, "paced", rpm_limit=RPM)
    if WINDOW - time.time() % WINDOW < 10:
        time.sleep(WINDOW - time.time() % WINDOW + 0.05)
    window_end = time.time() + WINDOW - time.time() % WINDOW
    with httpx.Client(timeout=10) as v1:
        answers = [
            v1.post(
                server.url + CHAT, json=chat_body(), headers={**bearer(key["secret_key"]), **FRESH}
            )
            for _ in range(RPM_REQUESTS)
        ]
    assert time.time() < window_end, "the requests outlasted their window; the machine is too slow"
    served_by = server.log.workers([a.headers["x-request-id"] for a in answers])
    assert len(served_by) > 1, "every request went to one worker: nothing was shown"
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * RPM + [429] * (RPM_REQUESTS - RPM), statuses


STREAMS = 3
PLAIN = 3


async def _traffic(url: str, secret: str, sent: list[Sent], stop: threading.Event) -> None:
    """Plain and streaming requests until `stop`; a cut one is noted and the next one sent."""

    async def loop(send: Callable[..., Awaitable[Sent]], kind: str) -> None:
        async with v1_async_client(1) as client:
            while not stop.is_set():
                one = Sent(kind)
                sent.append(one)
                await send(client, url, secret, one)

    plain = [loop(send_plain, "plain") for _ in range(PLAIN)]
    await asyncio.gather(*plain, *[loop(send_stream, "stream") for _ in range(STREAMS)])


def test_b_a_worker_killed_under_load_loses_and_doubles_no_usage(
    server: Workers, loop: BackgroundLoop
) -> None:
    with server.client(server.new_team().token) as api:
        key = create_key(api, "load")
    sent: list[Sent] = []
    stop = threading.Event()
    running = ThreadPoolExecutor(1).submit(
        asyncio.run, _traffic(server.url, key["secret_key"], sent, stop)
    )

    def completed(kind: str) -> int:
        return sum(1 for s in sent if s.kind == kind and s.completed)

    wait_until(lambda: completed("stream") >= 4 and completed("plain") >= 10, "traffic", 30)
    # The worker of a stream connection: its next stream is part-way through there.
    streamed = [s.request_id for s in sent if s.kind == "stream" and s.completed]
    victim = server.pid_of(server.log.workers([str(rid) for rid in streamed[-1:]]).pop())
    os.kill(victim, signal.SIGKILL)
    before = len(sent)
    wait_until(lambda: len(sent) > before + 20, "traffic after the kill", 30)
    stop.set()
    running.result(60)
    wait_until(lambda: '"worker ready"' in server.logs(), "the replacement", 30)
    assert len(server.worker_pids()) == WORKERS
    assert victim not in server.worker_pids()
    with httpx.Client(timeout=10) as v1:
        answers = until_every_worker(server, lambda: _models(v1, server.url, key["secret_key"]))
    assert {a.status_code for a in answers} == {200}, "a worker (the replacement?) refused"

    evidence = Evidence(server.database_url, loop)
    done = [s for s in sent if s.completed]
    try:
        wait_until(
            lambda: len(evidence.rows_per_request([key["uuid"]])) >= len(done), "usage rows", 15
        )
        rows = evidence.rows_per_request([key["uuid"]])
    finally:
        evidence.close()
    cut = [s for s in sent if not s.completed]
    print(f"completed {len(done)}, cut {len(cut)}, usage rows {len(rows)}")
    assert cut, "the kill cut nothing: it showed nothing"
    assert [s for s in done if rows.get(str(s.request_id)) != 1] == []
    assert all(count == 1 for count in rows.values()), "a request id has two usage rows"


def _scrape(url: str) -> dict[str, dict[str, float]]:
    """Per metric sample name: worker -> the sum of its series."""
    text = httpx.get(url + "/metrics", headers=FRESH, timeout=10).text
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            per_worker = found.setdefault(sample.name, {})
            worker = sample.labels["worker"]
            if family.name != "modelport_http_requests" or sample.labels["family"] == "v1":
                per_worker[worker] = per_worker.get(worker, 0.0) + sample.value
    return found


def test_metrics_show_every_worker_whichever_answers(server: Workers) -> None:
    with server.client(server.new_team().token) as api:
        key = create_key(api, "metered")
    before = _scrape(server.url)
    with httpx.Client(timeout=10) as v1:
        answers = until_every_worker(
            server,
            lambda: v1.post(
                server.url + CHAT, json=chat_body(), headers={**bearer(key["secret_key"]), **FRESH}
            ),
        )
    assert {a.status_code for a in answers} == {200}
    after = [_scrape(server.url) for _ in range(2 * WORKERS)]  # answered by several workers
    workers = {str(i) for i in range(WORKERS)}
    for scrape in after:
        assert set(scrape["process_cpu_seconds_total"]) == workers
        served = scrape["modelport_http_requests_total"]
        assert sum(served.values()) - sum(before["modelport_http_requests_total"].values()) == len(
            answers
        )
        assert scrape["modelport_cost_usd_total"] == after[0]["modelport_cost_usd_total"]


def test_every_worker_s_readiness_says_revocation_is_shared_by_the_workers(
    server: Workers,
) -> None:
    """On SQLite with no Redis (docs/design/workers.md, Metrics, health, logs)."""
    with httpx.Client(timeout=10) as client:
        answers = until_every_worker(
            server, lambda: client.get(server.url + "/readyz", headers=FRESH)
        )
    for answer in answers:
        assert answer.json()["revocation"] == (
            f"shared by this server's {WORKERS} workers (single node)"
        )


def _verified(url: str) -> dict[tuple[str, str], float]:
    """Accepted verifications so far: (worker, source) -> count."""
    text = httpx.get(url + "/metrics", headers=FRESH, timeout=10).text
    return {
        (sample.labels["worker"], sample.labels["source"]): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "modelport_key_verifications"
        for sample in family.samples
        if sample.name == "modelport_key_verifications_total"
    }


def test_a_changed_key_is_read_once_by_each_worker_then_cached(server: Workers) -> None:
    """A limit change through one worker: each worker reads the key once, sees the new limit
    and trusts its cache again (the change settled before its response), not for 11 minutes."""
    with server.client(server.new_team().token) as api, httpx.Client(timeout=10) as v1:
        key = create_key(api, "changing", rpm_limit=100)

        def state() -> httpx.Response:
            return v1.get(server.url + "/v1/key", headers={**bearer(key["secret_key"]), **FRESH})

        assert {a.status_code for a in until_every_worker(server, state)} == {200}
        changed = api.put(f"{KEYS}/{key['uuid']}", json={"rpm_limit": 7}, headers=FRESH)
        assert changed.status_code == 200, changed.text
        before = _verified(server.url)
        answers = until_every_worker(server, state)
        after = _verified(server.url)
    assert [a.json()["rate_limits"]["requests"]["limit"] for a in answers] == [7] * len(answers)
    grew = {series: count - before.get(series, 0.0) for series, count in after.items()}
    workers = [str(n) for n in range(WORKERS)]
    assert [grew.get((w, "database"), 0.0) for w in workers] == [1.0] * WORKERS, grew
    assert sum(grew.get((w, "cache"), 0.0) for w in workers) == len(answers) - WORKERS, grew
