"""A request whose body never arrives whole is no request: no upstream call, no usage row, no
charge; it is logged and counted as a client disconnect (499), never as a server error."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.hub.test_metrics import scrape, value
from tests.support.dataplane import create_key
from tests.support.hub import Hub
from tests.support.upstream import FakeUpstream
from tests.support.usage import UsageRows, wait_until

REQUESTS = "modelport_http_requests_total"
PARTIAL = b'{"model": "test-chat", "messages": [{"role": "user", "content": "hel'


def send_part_and_leave(hub: Hub, path: str, token: str) -> None:
    """Announce a 4 KiB JSON body, send part of it, and hang up."""
    with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
        )
        sock.sendall(head.encode() + PARTIAL)


def counted(hub: Hub, route: str, family: str, status: str) -> float:
    _, samples = scrape(hub)
    return value(samples, REQUESTS, family=family, route=route, method="POST", status=status)


@pytest.mark.parametrize(
    ("path", "family"),
    [("/v1/chat/completions", "v1"), ("/v2/gen-ai/models/api_keys", "v2")],
)
def test_a_cut_body_is_a_client_disconnect_and_nothing_else(
    hub: Hub,
    api: httpx.Client,
    upstream: FakeUpstream,
    usage_rows: UsageRows,
    path: str,
    family: str,
) -> None:
    key = create_key(api)
    token = key["secret_key"] if family == "v1" else str(api.headers["Authorization"])[7:]
    seen = len(upstream.seen.bodies)
    keys_before = api.get("/v2/gen-ai/models/api_keys").json()["meta"]["total"]
    before = {status: counted(hub, path, family, status) for status in ("499", "500")}
    log_size = len(hub.logs())

    send_part_and_leave(hub, path, token)

    wait_until(lambda: counted(hub, path, family, "499") == before["499"] + 1, "a 499")
    assert counted(hub, path, family, "500") == before["500"]
    logged = hub.logs()[log_size:]
    assert '"status":499' in logged
    assert '"level":"error"' not in logged
    assert "unhandled" not in logged
    assert len(upstream.seen.bodies) == seen, "nothing reached the upstream"
    assert usage_rows.of_key(key["uuid"]) == []
    after = api.get("/v2/gen-ai/models/api_keys").json()["meta"]["total"]
    assert after == keys_before, "nothing was half-written"
