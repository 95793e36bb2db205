"""`GET /v1/key`: a model access key reads its own state, and nothing else, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.dataplane import KEYS, MESSAGES, sdk
from tests.support.hub import Hub, find_leaks
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS
from tests.support.usage import UsageRows, whole_window

PICO = Decimal(10) ** 12


def _key(api: httpx.Client, name: str = "app", **fields: object) -> dict[str, Any]:
    created = api.post(KEYS, json={"name": name, **fields})
    assert created.status_code == 200, created.text
    info: dict[str, Any] = created.json()["api_key_info"]
    return info


def _read(hub: Hub, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(hub.url + "/v1/key", headers=headers, timeout=30)


def _state(hub: Hub, secret: str) -> dict[str, Any]:
    answer = _read(hub, {"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert find_leaks(answer.text, [secret]) == [], "the answer holds a secret"
    body: dict[str, Any] = answer.json()
    return body


def _chat(hub: Hub, secret: str, times: int) -> None:
    with sdk(hub, secret) as client:
        for _ in range(times):
            client.chat.completions.create(model="test-chat", messages=MESSAGES)


def test_a_key_reads_its_limits_spend_and_minute(
    hub: Hub, api: httpx.Client, usage_rows: UsageRows
) -> None:
    expiry = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    tpm = 1000
    key = _key(
        api,
        models=["test-chat"],
        expires_at=expiry.isoformat(),
        monthly_spend_limit="2.5",
        rpm_limit=10,
        tpm_limit=tpm,
        allowed_ips=["127.0.0.0/8", "::1"],
    )
    secret = key["secret_key"]
    whole_window()
    _chat(hub, secret, 3)
    state = _state(hub, secret)

    assert state["object"] == "key"
    assert (state["uuid"], state["name"], state["models"]) == (key["uuid"], "app", ["test-chat"])
    assert state["allowed_ips"] == ["127.0.0.0/8", "::1/128"]
    assert state["hint"] == "…" + secret[-4:] == key["hint"]
    assert datetime.fromisoformat(state["created_at"]) == datetime.fromisoformat(key["created_at"])
    assert datetime.fromisoformat(state["expires_at"]) == expiry
    assert state["limits"] == {"monthly_spend_usd": "2.5", "rpm": 10, "tpm": tpm}
    assert state["credit"] is None

    rows = usage_rows.of_key(key["uuid"])
    assert len(rows) == 3
    spent = Decimal(sum(row.cost_picousd for row in rows)) / PICO
    assert spent > 0
    assert state["spend"]["month"] == datetime.now(UTC).strftime("%Y-%m")
    assert Decimal(state["spend"]["this_month_usd"]) == spent
    assert Decimal(state["spend"]["remaining_usd"]) == Decimal("2.5") - spent

    requests, tokens = state["rate_limits"]["requests"], state["rate_limits"]["tokens"]
    assert (requests["limit"], requests["remaining"]) == (10, 7)
    assert (tokens["limit"], tokens["remaining"]) == (
        tpm,
        tpm - 3 * (PROMPT_TOKENS + COMPLETION_TOKENS),
    )
    assert 1 <= requests["reset_seconds"] <= 60

    _chat(hub, secret, 1)
    again = _state(hub, secret)
    assert again["rate_limits"]["requests"]["remaining"] == 6, "reading it counted as a request"
    assert Decimal(again["spend"]["this_month_usd"]) > spent


def test_the_key_goes_as_bearer_or_x_api_key_and_unlimited_shows_nulls(
    hub: Hub, api: httpx.Client
) -> None:
    key = _key(api)
    by_header = _read(hub, {"x-api-key": key["secret_key"]})
    assert by_header.status_code == 200, by_header.text
    state = by_header.json()
    assert state["uuid"] == key["uuid"]
    assert (state["models"], state["allowed_ips"], state["expires_at"]) == (None, None, None)
    assert state["limits"] == {"monthly_spend_usd": None, "rpm": None, "tpm": None}
    assert state["spend"]["remaining_usd"] is None
    assert Decimal(state["spend"]["this_month_usd"]) == 0
    assert state["rate_limits"] == {"requests": None, "tokens": None}


def test_a_spent_key_shows_nothing_remaining(hub: Hub, api: httpx.Client) -> None:
    key = _key(api, monthly_spend_limit="0.000001")  # less than one request costs
    _chat(hub, key["secret_key"], 1)
    state = _state(hub, key["secret_key"])
    assert Decimal(state["spend"]["this_month_usd"]) > Decimal("0.000001")
    assert Decimal(state["spend"]["remaining_usd"]) == 0


def test_each_key_sees_only_itself(hub: Hub, api: httpx.Client) -> None:
    mine = _key(api, "mine")
    neighbour = _key(api, "neighbour", rpm_limit=50)
    stranger = _key(hub.client(hub.new_team().token), "stranger")
    _chat(hub, neighbour["secret_key"], 2)
    _chat(hub, stranger["secret_key"], 1)
    answer = _read(hub, {"Authorization": f"Bearer {mine['secret_key']}"})
    assert answer.status_code == 200
    assert answer.json()["uuid"] == mine["uuid"]
    assert Decimal(answer.json()["spend"]["this_month_usd"]) == 0
    assert answer.json()["rate_limits"]["requests"] is None
    for other in (neighbour, stranger):
        assert other["uuid"] not in answer.text
        assert other["name"] not in answer.text
    secrets = [key["secret_key"] for key in (mine, neighbour, stranger)]
    assert find_leaks(answer.text, secrets) == []


@pytest.mark.parametrize("change", ["delete", "regenerate"])
def test_a_revoked_key_gets_401(hub: Hub, api: httpx.Client, change: str) -> None:
    key = _key(api)
    bearer = {"Authorization": f"Bearer {key['secret_key']}"}
    assert _read(hub, bearer).status_code == 200  # cached by the verifier, then revoked
    if change == "delete":
        response = api.delete(f"{KEYS}/{key['uuid']}")
    else:
        response = api.put(f"{KEYS}/{key['uuid']}/regenerate")
    assert response.status_code == 200, response.text
    refused = _read(hub, bearer)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert key["uuid"] not in refused.text


def test_no_key_or_a_wrong_one_gets_401_in_openai_shape(hub: Hub) -> None:
    for headers in ({}, {"Authorization": "Bearer mp_nonsense"}, {"x-api-key": "nope"}):
        refused = _read(hub, headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["type"] == "invalid_request_error"
    posted = httpx.post(hub.url + "/v1/key", timeout=30)
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET"


def test_a_key_with_prepaid_credit_reads_what_is_left(
    hub: Hub, api: httpx.Client, usage_rows: UsageRows
) -> None:
    key = _key(api)
    topped = api.post(f"{KEYS}/{key['uuid']}/credit", json={"amount_usd": "1.5"})
    assert topped.status_code == 200, topped.text
    _chat(hub, key["secret_key"], 2)
    spent = sum(row.cost_picousd for row in usage_rows.wait_for(key["uuid"], 2))
    credit = _state(hub, key["secret_key"])["credit"]
    assert credit == {
        "granted_usd": "1.5",
        "spent_usd": str(Decimal(spent) / 10**12),
        "remaining_usd": str(Decimal(1_500_000_000_000 - spent) / 10**12),
    }
