"""Per-key limits on the data plane: expiry, requests and tokens a minute, monthly spend."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.hub import Hub
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS
from tests.support.usage import whole_window

KEYS = "/v2/gen-ai/models/api_keys"
CHAT = {"model": "test-chat", "messages": [{"role": "user", "content": "hi"}]}
REQUEST_COST = (PROMPT_TOKENS * CHAT_INPUT_PRICE + COMPLETION_TOKENS * CHAT_OUTPUT_PRICE) / 10**6


def _key(api: httpx.Client, **limits: object) -> dict[str, Any]:
    created = api.post(KEYS, json={"name": "limited", **limits})
    assert created.status_code == 200, created.text
    info: dict[str, Any] = created.json()["api_key_info"]
    return info


def _chat(hub: Hub, secret: str, **extra: object) -> httpx.Response:
    return httpx.post(
        hub.url + "/v1/chat/completions",
        json={**CHAT, **extra},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )


def test_limits_are_shown_changed_and_kept_by_regenerate(api: httpx.Client) -> None:
    expiry = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    key = _key(
        api, expires_at=expiry.isoformat(), monthly_spend_limit="12.5", rpm_limit=60, tpm_limit=9000
    )
    assert key["monthly_spend_limit"] == "12.5"
    assert (key["rpm_limit"], key["tpm_limit"]) == (60, 9000)
    assert datetime.fromisoformat(key["expires_at"]) == expiry

    changed = api.put(f"{KEYS}/{key['uuid']}", json={"rpm_limit": 5, "tpm_limit": None})
    assert changed.status_code == 200, changed.text
    info = changed.json()["api_key_info"]
    assert (info["name"], info["rpm_limit"], info["tpm_limit"]) == ("limited", 5, None)
    assert info["monthly_spend_limit"] == "12.5"

    regenerated = api.put(f"{KEYS}/{key['uuid']}/regenerate").json()["api_key_info"]
    assert (regenerated["rpm_limit"], regenerated["monthly_spend_limit"]) == (5, "12.5")
    assert datetime.fromisoformat(regenerated["expires_at"]) == expiry


@pytest.mark.parametrize(
    "limits",
    [
        {"expires_at": "2001-01-01T00:00:00Z"},
        {"expires_at": "tomorrow"},
        {"monthly_spend_limit": "-1"},
        {"monthly_spend_limit": "a lot"},
        {"monthly_spend_limit": False},
        {"monthly_spend_limit": "5\n"},
        {"rpm_limit": 0},
        {"tpm_limit": "10"},
        {"rpm_limit": True},
    ],
)
def test_bad_limits_are_400(api: httpx.Client, limits: dict[str, object]) -> None:
    response = api.post(KEYS, json={"name": "bad", **limits})
    assert response.status_code == 400, response.text
    assert response.json()["id"] == "bad_request"


def test_an_expired_key_is_refused_with_a_message(hub: Hub, api: httpx.Client) -> None:
    expiry = datetime.now(UTC) + timedelta(seconds=2)
    key = _key(api, expires_at=expiry.isoformat())
    assert _chat(hub, key["secret_key"]).status_code == 200
    time.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()) + 0.2)
    refused = _chat(hub, key["secret_key"])
    assert refused.status_code == 401
    assert "expired" in refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == "key_expired"


def test_rpm_limit_answers_429_with_headers(hub: Hub, api: httpx.Client) -> None:
    key = _key(api, rpm_limit=3)
    whole_window()
    answers = [_chat(hub, key["secret_key"]) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["x-ratelimit-limit-requests"] == "3" for a in answers)
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].headers["x-ratelimit-reset-requests"].endswith("s")
    assert answers[-1].json()["error"]["type"] == "rate_limit_error"


def test_tpm_limit_counts_real_tokens(hub: Hub, api: httpx.Client) -> None:
    per_request = PROMPT_TOKENS + COMPLETION_TOKENS
    key = _key(api, tpm_limit=2 * per_request)
    whole_window()
    first, second, third = (_chat(hub, key["secret_key"]) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert second.headers["x-ratelimit-remaining-tokens"] == str(per_request)
    assert third.headers["x-ratelimit-remaining-tokens"] == "0"


def test_spend_limit_overshoot_stays_within_requests_in_flight(hub: Hub, api: httpx.Client) -> None:
    """64 concurrent requests against a limit worth 5: in-flight ones may finish, no more."""
    limit = 5 * REQUEST_COST
    key = _key(api, monthly_spend_limit=str(limit))

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        hub.url + "/v1/chat/completions",
                        json={**CHAT, "max_tokens": COMPLETION_TOKENS},
                        headers={"Authorization": f"Bearer {key['secret_key']}"},
                    )
                    for _ in range(64)
                )
            )
        return [a.status_code for a in answers]

    codes = asyncio.run(burst())
    assert set(codes) <= {200, 429}
    admitted = codes.count(200)
    spent = Decimal(api.get(f"{KEYS}/{key['uuid']}/usage").json()["totals"]["cost"])
    assert spent == admitted * REQUEST_COST
    # Reservations hold each request's estimate, so the limit is reached by reservations
    # before any request settles: at most the in-flight requests go past it.
    assert 5 <= admitted < 64
    assert spent - limit <= admitted * REQUEST_COST
    after = _chat(hub, key["secret_key"])
    assert after.status_code == 429
    assert "monthly spend limit" in after.json()["error"]["message"]
