"""SIGTERM drains `modelport serve`: readiness says so, new requests are refused, requests in
flight may finish for the grace, and those still running then are cut, each recorded once
(`server_shutdown`, charged for what its client received), their spend holds settled, and
their streams ended with an error event the client reads."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests.support.catalog import CREDENTIAL_ENV, write_test_catalog
from tests.support.databases import sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.upstream import CREDENTIAL, PACE_SECONDS, FakeUpstream
from tests.support.usage import UsageRows
from tests.support.workers import Workers

REDIS_URL = "redis://127.0.0.1:6379/0"
GRACE = 2.0
LONG = 400
"""Pieces of a stream that cannot finish within the grace (a piece every 50 ms)."""
SHORT = 10
"""Pieces of one that can."""


class Reader(threading.Thread):
    """Reads one streamed chat completion to its end, keeping every event."""

    def __init__(self, hub: Hub, secret: str, pieces: int) -> None:
        super().__init__(daemon=True)
        self._request = (hub.url, secret, pieces)
        self.events: list[dict[str, object]] = []
        self.first = threading.Event()

    def run(self) -> None:
        url, secret, pieces = self._request
        body = {
            "model": "test-paced",
            "messages": [{"role": "user", "content": "count"}],
            "stream": True,
            "max_tokens": pieces,
        }
        headers = {"Authorization": f"Bearer {secret}"}
        with (
            httpx.Client(timeout=60) as client,
            client.stream("POST", url + "/v1/chat/completions", json=body, headers=headers) as got,
        ):
            for line in got.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    self.events.append(orjson.loads(line[6:]))
                    self.first.set()

    @property
    def received(self) -> int:
        """Content pieces the client got."""
        return sum(1 for event in self.events if _content(event))


def _content(event: dict[str, object]) -> bool:
    choices = event.get("choices")
    return isinstance(choices, list) and any(c["delta"].get("content") for c in choices)


@pytest.fixture(params=[1, 2], ids=["one process", "two workers"])
def draining_hub(
    request: pytest.FixtureRequest, loop: BackgroundLoop, upstream: FakeUpstream, tmp_path: Path
) -> Iterator[Hub]:
    """One process, or a parent whose SIGTERM drains each of its workers."""
    catalog = write_test_catalog(tmp_path / "catalog.toml", upstream.url)
    env = {
        "MODELPORT_CATALOG": str(catalog),
        CREDENTIAL_ENV: CREDENTIAL,
        "MODELPORT_REDIS_URL": REDIS_URL,
        "MODELPORT_SHUTDOWN_GRACE_SECONDS": str(GRACE),
    }
    hub = (
        Hub(sqlite_url(tmp_path), tmp_path / "hub", loop, env)
        if request.param == 1
        else Workers(sqlite_url(tmp_path), tmp_path / "hub", loop, env, request.param)
    )
    hub.start()
    yield hub
    hub.stop()


def test_sigterm_drains_then_bills_what_it_cuts_once(
    draining_hub: Hub, loop: BackgroundLoop
) -> None:
    hub = draining_hub
    with hub.client(hub.new_team().token) as api:
        created = api.post(
            "/v2/gen-ai/models/api_keys", json={"name": "app", "monthly_spend_limit": "100"}
        )
    key = created.json()["api_key_info"]
    readers = [Reader(hub, key["secret_key"], LONG) for _ in range(3)]
    readers.append(Reader(hub, key["secret_key"], SHORT))
    for reader in readers:
        reader.start()
    for reader in readers:
        assert reader.first.wait(10), "every stream started"

    hub.signal(signal.SIGTERM)
    time.sleep(0.3)
    ready = httpx.get(hub.url + "/readyz", timeout=5)
    assert (ready.status_code, ready.json()["status"]) == (503, "draining")
    refused = httpx.post(
        hub.url + "/v1/chat/completions",
        json={"model": "test-chat", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key['secret_key']}"},
        timeout=5,
    )
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "draining"
    assert refused.headers["connection"] == "close"

    for reader in readers:
        reader.join(GRACE + 15)
        assert not reader.is_alive()
    assert hub.wait(GRACE + 20) == 0

    long_ones, short = readers[:3], readers[3]
    assert short.received == SHORT
    assert "error" not in short.events[-1]
    for reader in long_ones:
        assert 0 < reader.received < LONG
        last = reader.events[-1]
        assert last["error"]["code"] == "draining"  # type: ignore[index]

    rows = UsageRows(hub.database_url, loop)
    try:
        recorded = rows.of_key(key["uuid"])
    finally:
        rows.close()
    assert len(recorded) == len(readers), "exactly one row per request"
    cut = sorted(row.completion_tokens for row in recorded if row.status == "server_shutdown")
    assert cut == sorted(reader.received for reader in long_ones)
    [done] = [row for row in recorded if row.status == "ok"]
    assert (done.completion_tokens, done.estimated) == (SHORT, False)

    month = datetime.now(UTC).strftime("%Y-%m")
    with redis.Redis.from_url(REDIS_URL) as client:
        assert client.zcard(f"mp:reserved:{key['uuid']}:{month}") == 0, "every hold settled"
        settled = int(client.get(f"mp:spend:{key['uuid']}:{month}") or 0)
    assert settled == sum(row.cost_picousd for row in recorded)
    assert '"message":"draining"' in hub.logs()
    assert PACE_SECONDS * LONG > GRACE + 5, "the long streams could not have finished"


def _listener_inode(port: int) -> str:
    """The kernel's listening socket on `port` (one, whichever processes hold it)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            return fields[9]
    raise AssertionError(f"nothing listens on {port}")


def _holds(pid: int, inode: str) -> bool:
    folder = Path(f"/proc/{pid}/fd")
    links = []
    for fd in folder.iterdir():
        with contextlib.suppress(FileNotFoundError):
            links.append(os.readlink(fd))
    return f"socket:[{inode}]" in links


def test_a_stopping_parent_lets_go_of_the_port_while_its_workers_drain(
    loop: BackgroundLoop, upstream: FakeUpstream, tmp_path: Path
) -> None:
    """Once the workers have closed their listeners, a connection must be refused (a proxy
    then tries another server) rather than queued on the parent's copy of the socket with
    nobody to accept it: the parent closes its copy as soon as it is stopping."""
    catalog = write_test_catalog(tmp_path / "catalog.toml", upstream.url)
    env = {
        "MODELPORT_CATALOG": str(catalog),
        CREDENTIAL_ENV: CREDENTIAL,
        "MODELPORT_REDIS_URL": "",
        "MODELPORT_SHUTDOWN_GRACE_SECONDS": str(GRACE),
    }
    hub = Workers(sqlite_url(tmp_path), tmp_path / "hub", loop, env, 2)
    hub.start()
    try:
        inode = _listener_inode(hub.port)
        assert _holds(hub.pid, inode)
        with hub.client(hub.new_team().token) as api:
            created = api.post("/v2/gen-ai/models/api_keys", json={"name": "app"})
        reader = Reader(hub, created.json()["api_key_info"]["secret_key"], LONG)
        reader.start()
        assert reader.first.wait(10), "the stream started"

        hub.signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE / 2
        while _holds(hub.pid, inode):
            assert time.monotonic() < deadline, "the parent still holds the listening socket"
            time.sleep(0.02)
        assert reader.is_alive(), "a worker is still draining"
        for _ in range(2):  # cut, then stop: the test has seen what it came for
            hub.signal(signal.SIGTERM)
            time.sleep(0.1)
        assert hub.wait(GRACE + 20) == 0
        reader.join(10)
    finally:
        hub.stop()
