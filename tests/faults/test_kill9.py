"""Kill -9 under load: what a replica acknowledged survives it, and usage is exact.

Streams (the fake's paced model) and plain chat requests run through one replica while a
loop creates, renames, regenerates and deletes keys on it. Once some of each have completed
the replica gets SIGKILL, with a stream part-way through; then it restarts on the same
database and port:
- every key operation answered 200 is there: names and secrets as last acknowledged (an
  operation cut off without an answer may have happened or not);
- every request whose response completed (plain: 200 with a body; stream: `data: [DONE]`)
  has exactly one usage row with its `x-request-id`, and no request id has two.
On PostgreSQL the replica is one of the cluster's three (Redis on); on SQLite it runs alone
with default settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import Cluster, assert_no_secret_in_logs
from tests.faults.helpers import (
    KEYS,
    Evidence,
    create_key,
    models_status,
    v1_async_client,
    v1_client,
)
from tests.faults.traffic import KeyOperator, KeyState, Sent, send_plain, send_stream
from tests.support.databases import sqlite_url
from tests.support.hub import Team
from tests.support.loop import BackgroundLoop
from tests.support.replicas import Replica

STREAMS = 3
PLAIN = 3
BEFORE_KILL = {"stream": 4, "plain": 10, "key_ops": 6}
"""Completions to wait for before the kill, so that there is something to lose."""

Sender = Callable[[httpx.AsyncClient, str, str, Sent], Awaitable[Sent]]


@dataclass
class Load:
    url: str
    secret: str
    operator: KeyOperator
    sent: list[Sent] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def ready_to_kill(self) -> bool:
        """Some of everything done, and a stream part-way through."""
        done = [s.kind for s in self.sent if s.completed]
        return (
            done.count("stream") >= BEFORE_KILL["stream"]
            and done.count("plain") >= BEFORE_KILL["plain"]
            and self.operator.acknowledged >= BEFORE_KILL["key_ops"]
            and any(s.kind == "stream" and s.request_id and not s.completed for s in self.sent)
        )

    async def requests(self, client: httpx.AsyncClient, send: Sender) -> None:
        while not self.stop.is_set():
            sent = Sent("stream" if send is send_stream else "plain")
            self.sent.append(sent)  # filled in as it goes, so a stream part-way shows
            if (await send(client, self.url, self.secret, sent)).error is not None:
                return

    async def key_operations(self) -> None:
        round_ = 0
        while not self.stop.is_set():
            round_ += 1
            if await self.operator.lifecycle(f"k{round_}", delete=round_ % 2 == 1) is None:
                return


async def _load_then_kill(replica: Replica, team: Team, secret: str) -> Load:
    async with (
        replica.async_client(team.token) as api,
        v1_async_client(STREAMS + PLAIN) as client,
    ):
        load = Load(replica.url, secret, KeyOperator([api]))
        workers = [asyncio.create_task(load.requests(client, send_stream)) for _ in range(STREAMS)]
        workers += [asyncio.create_task(load.requests(client, send_plain)) for _ in range(PLAIN)]
        workers.append(asyncio.create_task(load.key_operations()))
        while not load.ready_to_kill():
            assert not any(w.done() for w in workers), [w.exception() for w in workers if w.done()]
            await asyncio.sleep(0.05)
        replica.kill()
        load.stop.set()
        await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
    assert load.operator.refused == []
    return load


def _check_keys(replica: Replica, team: Team, keys: list[KeyState]) -> None:
    with replica.client(team.token) as api, v1_client() as v1:
        for key in keys:
            op, value = key.pending or (None, None)
            found = api.get(f"{KEYS}/{key.uuid}")
            if key.deleted or (op == "delete" and found.status_code == 404):
                assert found.status_code == 404, found.text
                assert models_status(v1, replica.url, key.secret) == 401
                continue
            assert found.status_code == 200, found.text
            assert found.json()["api_key_info"]["name"] in {key.name, value}
            if op != "regenerate":  # else the old secret or an unseen new one is current
                assert models_status(v1, replica.url, key.secret) == 200, key.uuid
            for retired in key.retired:
                assert models_status(v1, replica.url, retired) == 401


def _check_usage(evidence: Evidence, key_id: str, sent: list[Sent]) -> None:
    rows = evidence.rows_per_request([key_id])
    completed = [s for s in sent if s.completed]
    missing = [s for s in completed if rows.get(str(s.request_id), 0) != 1]
    assert not missing, f"{len(missing)} of {len(completed)} completed requests lack their row"
    assert all(count == 1 for count in rows.values()), "a request id has two usage rows"
    cut = sum(1 for s in sent if s.request_id and not s.completed)
    print(f"completed {len(completed)}, cut off mid-response {cut}, usage rows {len(rows)}")


@pytest.fixture(params=["postgresql", "sqlite"])
def victim(
    request: pytest.FixtureRequest,
    upstream_env: dict[str, str],
    loop: BackgroundLoop,
    tmp_path: Path,
) -> Iterator[Replica]:
    """The replica to kill: a cluster member on PostgreSQL, or a lone hub on SQLite."""
    if request.param == "postgresql":
        cluster: Cluster = request.getfixturevalue("cluster")
        yield cluster.replicas[-1]
        cluster.replicas[-1].ensure_started()
        return
    env = {**upstream_env, "MODELPORT_REDIS_URL": ""}
    alone = Replica(sqlite_url(tmp_path), tmp_path / "hub", loop, env)
    alone.start()
    yield alone
    alone.stop()
    assert_no_secret_in_logs([alone])


def test_kill_9_loses_nothing_acknowledged(victim: Replica, loop: BackgroundLoop) -> None:
    team = victim.new_team()
    with victim.client(team.token) as api:
        key = create_key(api, "load")
    load = asyncio.run(_load_then_kill(victim, team, key["secret_key"]))
    assert {s.status for s in load.sent if s.status is not None} == {200}
    victim.start()
    _check_keys(victim, team, load.operator.keys)
    evidence = Evidence(victim.database_url, loop)
    try:
        _check_usage(evidence, key["uuid"], load.sent)
    finally:
        evidence.close()
