"""Past the connections allowed to an upstream, a request waits the connect timeout, then
gets a 503 it can retry, and /metrics shows the connections in use and the refusal."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.hub.test_metrics import scrape, value
from tests.support.databases import sqlite_url
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.upstream import CREDENTIAL, FakeUpstream


@pytest.fixture(scope="module")
def one_connection_hub(
    loop: BackgroundLoop, upstream_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    """A hub allowed one connection per upstream origin, that waits 0.5 s for one."""
    folder = Path(tmp_path_factory.mktemp("busy"))
    env = {
        **upstream_env,
        "MODELPORT_UPSTREAM_MAX_CONNECTIONS": "1",
        "MODELPORT_UPSTREAM_CONNECT_TIMEOUT": "0.5",
    }
    server = Hub(sqlite_url(folder), folder / "hub", loop, env)
    server.start()
    yield server
    server.stop()
    assert CREDENTIAL not in server.logs() + server.stderr()


def test_a_request_past_the_limit_is_a_503_to_retry(
    one_connection_hub: Hub, upstream: FakeUpstream
) -> None:
    hub = one_connection_hub
    origin = upstream.root
    with hub.client(hub.new_team().token) as api:
        secret = create_key(api)["secret_key"]

    outcome: list[BaseException] = []

    def stall() -> None:
        """Holds the one connection until the SDK gives up on it."""
        with sdk(hub, secret, timeout=2.5) as slow:
            try:
                slow.chat.completions.create(model="test-slow", messages=MESSAGES)
            except openai.APITimeoutError as exc:
                outcome.append(exc)

    holder = threading.Thread(target=stall)
    holder.start()
    try:
        deadline = time.monotonic() + 2
        while value(scrape(hub)[1], "modelport_upstream_connections_in_use", origin=origin) != 1:
            assert time.monotonic() < deadline, "the slow call never took its connection"
            time.sleep(0.05)
        with sdk(hub, secret) as client, pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="test-chat", messages=MESSAGES)
    finally:
        holder.join()
    assert len(outcome) == 1, "the slow call held its connection until it gave up"
    assert caught.value.status_code == 503
    assert caught.value.code == "upstream_busy"
    assert caught.value.message.endswith(
        "Too many requests to the upstream provider at once; retry."
    )
    text, samples = scrape(hub)
    refused = "modelport_upstream_connection_refusals_total"
    assert value(samples, refused, origin=origin) == 1
    assert value(samples, "modelport_upstream_connection_waits_total", origin=origin) == 1
    busy = {"model": "test-chat", "deployment": "test-chat#1", "kind": "busy"}
    assert value(samples, "modelport_upstream_errors_total", **busy) == 1
    assert CREDENTIAL not in text
