"""Prepaid credit: topped up through the key API, spent by the data plane, refused with 402
once spent (no upstream call, no usage row), exact to the picodollar."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.dataplane import create_key, sdk
from tests.support.hub import Hub
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS, FakeUpstream
from tests.support.usage import UsageRows

KEYS = "/v2/gen-ai/models/api_keys"
REQUEST_COST = (PROMPT_TOKENS * CHAT_INPUT_PRICE + COMPLETION_TOKENS * CHAT_OUTPUT_PRICE) / 10**6
"""USD one test-chat request costs: 0.00003125."""
CREDIT = Decimal("0.00009")
"""Below 3 requests' cost, above 2: the third is admitted, and spends the credit."""


def _top_up(api: httpx.Client, key_id: str, amount: object) -> httpx.Response:
    return api.post(f"{KEYS}/{key_id}/credit", json={"amount_usd": amount})


def _credit(api: httpx.Client, key_id: str) -> dict[str, Any]:
    answer = api.get(f"{KEYS}/{key_id}/credit")
    assert answer.status_code == 200, answer.text
    credit: dict[str, Any] = answer.json()["credit"]
    return credit


def _ask(client: openai.OpenAI, marker: str) -> Any:
    return client.chat.completions.create(
        model="test-chat",
        messages=[{"role": "user", "content": f"credit {marker}"}],
        max_tokens=COMPLETION_TOKENS,
    )


def _sent(upstream: FakeUpstream, marker: str) -> int:
    """How many requests carrying `marker` reached the upstream."""
    return sum(f"credit {marker}" in str(body) for body in upstream.seen.bodies)


def test_top_ups_add_up_are_shown_and_audited(api: httpx.Client) -> None:
    key = create_key(api)
    assert key["credit"] is None
    first = _top_up(api, key["uuid"], "10.50")
    assert first.status_code == 200, first.text
    assert first.json()["api_key_info"]["credit"] == "10.5"
    assert first.json()["credit"] == {"granted": "10.5", "spent": "0.0", "remaining": "10.5"}
    second = _top_up(api, key["uuid"], 0.000001).json()
    assert second["credit"]["granted"] == second["api_key_info"]["credit"] == "10.500001"
    assert api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]["credit"] == "10.500001"
    events = api.get("/v2/gen-ai/audit_events").json()["audit_events"]
    topped = [e for e in events if e["action"] == "key.credit_topped_up"]
    assert [e["detail"] for e in topped] == ["+0.000001 USD", "+10.5 USD"]
    assert {e["target_uuid"] for e in topped} == {key["uuid"]}


@pytest.mark.parametrize(
    "amount",
    ["-1", -1, "0", 0, "1.0000001", 0.0000001, "ten", True, None, {"usd": 1}, "5\n", "1e7"],
)
def test_bad_top_ups_are_400_naming_the_field(api: httpx.Client, amount: object) -> None:
    key = create_key(api)
    answer = _top_up(api, key["uuid"], amount)
    assert answer.status_code == 400, answer.text
    assert answer.json()["id"] == "bad_request"
    assert "amount_usd" in answer.json()["message"]
    assert _credit(api, key["uuid"])["granted"] == "0.0"


def test_top_up_of_an_unknown_key_is_404(api: httpx.Client) -> None:
    assert _top_up(api, str(uuid.uuid4()), "1").status_code == 404


def test_credit_is_spent_then_402_until_a_top_up(
    hub: Hub, api: httpx.Client, upstream: FakeUpstream, usage_rows: UsageRows
) -> None:
    key = create_key(api)
    assert _top_up(api, key["uuid"], str(CREDIT)).status_code == 200
    marker = uuid.uuid4().hex
    with sdk(hub, key["secret_key"]) as client:
        for _ in range(3):
            _ask(client, marker)
        with pytest.raises(openai.APIStatusError) as refused:
            _ask(client, marker)
        assert refused.value.status_code == 402
        error = refused.value.body
        assert isinstance(error, dict)
        assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_credit")
        assert "no credit left" in error["message"]
        assert _sent(upstream, marker) == 3, "the refused request never reached the upstream"
        rows = usage_rows.of_key(key["uuid"])
        assert len(rows) == 3, "a refused request leaves no usage row"

        credit = _credit(api, key["uuid"])
        spent = sum(row.cost_picousd for row in rows)
        assert spent == 3 * REQUEST_COST * 10**12
        assert Decimal(credit["remaining"]) == CREDIT - Decimal(spent) / 10**12
        assert Decimal(credit["spent"]) == 3 * REQUEST_COST

        assert _top_up(api, key["uuid"], "0.0001").status_code == 200
        _ask(client, marker)
        assert _sent(upstream, marker) == 4
    after = _credit(api, key["uuid"])
    cost = sum(row.cost_picousd for row in usage_rows.of_key(key["uuid"]))
    assert Decimal(after["remaining"]) * 10**12 == (CREDIT + Decimal("0.0001")) * 10**12 - cost


def test_a_key_without_credit_is_not_limited_by_it(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    with sdk(hub, key["secret_key"]) as client:
        assert _ask(client, uuid.uuid4().hex).choices
    assert _credit(api, key["uuid"]) == {"granted": "0.0", "spent": "0.0", "remaining": "0.0"}


def test_messages_out_of_credit_get_anthropics_402(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    assert _top_up(api, key["uuid"], "0.000001").status_code == 200
    with sdk(hub, key["secret_key"]) as client:
        _ask(client, uuid.uuid4().hex)  # costs more than the credit
    with (
        anthropic.Anthropic(base_url=hub.url, api_key=key["secret_key"], max_retries=0) as claude,
        pytest.raises(anthropic.APIStatusError) as refused,
    ):
        claude.messages.create(
            model="test-claude-chat", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.status_code == 402
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "billing_error"


def test_a_keys_credit_may_not_pass_its_ceiling(api: httpx.Client) -> None:
    key = create_key(api)
    for _ in range(5):
        assert _top_up(api, key["uuid"], "1000000").status_code == 200
    refused = _top_up(api, key["uuid"], "0.000001")
    assert refused.status_code == 400, refused.text
    assert "amount_usd would take the key's credit past 5000000 USD" in refused.json()["message"]
    assert _credit(api, key["uuid"])["granted"] == "5000000.0"
