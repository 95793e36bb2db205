"""Every /v2 response carries `ratelimit-*` headers, and each token has a limit of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from modelport.core import secrets as secret_format
from tests.support.databases import sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.reference import KEYS, check_response
from tests.support.usage import whole_window

BASE = "/v2/gen-ai/models/api_keys"
LIMIT = 5
HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


def _limits(response: httpx.Response) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response.headers[name]) for name in HEADERS)
    return limit, remaining, reset


def test_every_v2_response_carries_the_headers(hub: Hub, api: httpx.Client) -> None:
    key_id = api.post(BASE, json={"name": "limited"}).json()["api_key_info"]["uuid"]
    with hub.client(None) as anonymous:
        responses = [
            api.get(BASE),
            api.get(f"{BASE}/{key_id}"),
            api.get(f"{BASE}/123e4567-e89b-12d3-a456-426614174000"),
            api.get(f"{BASE}/not-a-uuid"),
            api.post(BASE, json={"name": ""}),
            api.post(BASE, json={"name": "x" * 2_000_000}),
            api.patch(BASE),
            api.get("/v2/no/such/thing"),
            anonymous.get(BASE),
        ]
    assert [r.status_code for r in responses] == [200, 200, 404, 400, 400, 413, 405, 404, 401]
    now = time.time()
    for response in responses:
        limit, remaining, reset = _limits(response)
        assert limit == 100_000
        assert 0 <= remaining < limit
        assert now - 1 <= reset <= now + 61


def test_the_health_check_is_not_rate_limited(hub: Hub) -> None:
    response = httpx.get(hub.url + "/healthz")
    assert response.status_code == 200
    assert "ratelimit-limit" not in response.headers


@pytest.fixture(scope="module")
def small(loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub of its own, on SQLite, that allows five /v2 requests a minute per token."""
    folder = tmp_path_factory.mktemp("limited")
    server = Hub(
        sqlite_url(folder),
        folder / "hub",
        loop,
        extra_env={"MODELPORT_API_RATE_LIMIT_PER_MINUTE": str(LIMIT)},
    )
    server.start()
    yield server
    server.stop()
    assert not server.leaked_secrets()


@pytest.mark.reference("do-openapi")
def test_past_the_limit_a_token_gets_429_with_retry_after(small: Hub) -> None:
    whole_window()
    with small.client(small.new_team().token) as api:
        allowed = [api.get(BASE) for _ in range(LIMIT)]
        refused = api.get(BASE)
        assert api.post(BASE, json={"name": "too late"}).status_code == 429

    assert [r.status_code for r in allowed] == [200] * LIMIT
    assert [_limits(r)[1] for r in allowed] == list(range(LIMIT - 1, -1, -1))
    assert refused.status_code == 429
    body = refused.json()
    assert body["id"] == "too_many_requests"
    assert body["message"]
    assert body["request_id"] == refused.headers["x-request-id"]
    check_response(KEYS["list"], refused)
    limit, remaining, reset = _limits(refused)
    assert (limit, remaining) == (LIMIT, 0)
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert abs(reset - (time.time() + retry_after)) <= 2


def test_a_refused_write_changes_nothing(small: Hub) -> None:
    whole_window()
    team = small.new_team()
    with small.client(team.token) as api:
        for _ in range(LIMIT):
            api.get(BASE)
        assert api.post(BASE, json={"name": "refused"}).status_code == 429
    with small.client(team.read_only_token) as reader:
        assert reader.get(BASE).json()["meta"]["total"] == 0


def test_each_token_has_its_own_limit(small: Hub) -> None:
    whole_window()
    team = small.new_team()
    with small.client(team.token) as first:
        for _ in range(LIMIT):
            assert first.get(BASE).status_code == 200
        assert first.get(BASE).status_code == 429
    with small.client(team.read_only_token) as second:
        response = second.get(BASE)
    assert response.status_code == 200
    assert _limits(response)[:2] == (LIMIT, LIMIT - 1)


def test_made_up_tokens_share_their_address_limit(small: Hub) -> None:
    """A client inventing a new token per request is limited like one client."""
    whole_window()
    inventions: list[str] = [
        secret_format.generate(secret_format.API_TOKEN_PREFIX) for _ in range(LIMIT)
    ]
    inventions += ["garbage", "mpt_short"]
    codes = []
    for token in inventions:
        with small.client(token) as stranger:
            codes.append(stranger.get(BASE).status_code)
    assert codes[:LIMIT] == [401] * LIMIT
    assert codes[LIMIT:] == [429, 429]
