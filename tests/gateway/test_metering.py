"""Every request that reaches an upstream is metered once, at catalog prices, exactly."""

from __future__ import annotations

from decimal import Decimal

import httpx
import openai
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS
from tests.support.usage import UsageRows


def test_chat_is_metered_and_priced_exactly(
    client: openai.OpenAI, api: httpx.Client, model_key: dict[str, str]
) -> None:
    for _ in range(3):
        client.chat.completions.create(
            model="test-chat", messages=[{"role": "user", "content": "hi"}]
        )
    report = api.get(
        f"/v2/gen-ai/models/api_keys/{model_key['uuid']}/usage", params={"group_by": "model"}
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["totals"]["requests"] == 3
    assert body["totals"]["prompt_tokens"] == 3 * PROMPT_TOKENS
    assert body["totals"]["completion_tokens"] == 3 * COMPLETION_TOKENS
    expected = (
        3 * (PROMPT_TOKENS * CHAT_INPUT_PRICE + COMPLETION_TOKENS * CHAT_OUTPUT_PRICE) / 10**6
    )
    assert Decimal(body["totals"]["cost"]) == expected
    assert [b["model"] for b in body["usage"]] == ["test-chat"]
    team = api.get("/v2/gen-ai/usage", params={"group_by": "key"}).json()
    assert team["totals"] == body["totals"]


def test_catalog_lists_models_with_pricing(api: httpx.Client) -> None:
    listed = api.get("/v2/gen-ai/models", params={"per_page": 200})
    assert listed.status_code == 200, listed.text
    models = {m["id"]: m for m in listed.json()["models"]}
    assert models["test-chat"]["pricing"]["input_price_per_million"] == 1.25
    assert models["test-unconfigured"]["available"] is False
    embed_only = api.get("/v2/gen-ai/models", params={"usecases": "MODEL_USECASE_KNOWLEDGEBASE"})
    assert [m["id"] for m in embed_only.json()["models"]] == ["test-embed"]


@pytest.mark.parametrize("stream", [False, True])
def test_tokens_are_estimated_when_the_upstream_reports_none(
    client: openai.OpenAI, usage_rows: UsageRows, model_key: dict[str, str], stream: bool
) -> None:
    """No usage from the upstream: about four characters a token, and the row says so."""
    prompt = "x" * 40  # ten tokens at four characters each
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": prompt}
    ]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="test-nousage",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        # Asked for usage, the client gets the hub's estimate in the last chunk.
        assert chunks[-1].usage is not None
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (
            10,
            COMPLETION_TOKENS,
        )
    else:
        reply = client.chat.completions.create(model="test-nousage", messages=messages)
        assert reply.usage is None
        text = reply.choices[0].message.content or ""
    assert text == "tok " * COMPLETION_TOKENS
    [row] = usage_rows.of_key(model_key["uuid"])
    assert (row.status, row.estimated) == ("ok", True)
    assert (row.prompt_tokens, row.completion_tokens) == (10, COMPLETION_TOKENS)
    price = 10 * CHAT_INPUT_PRICE + COMPLETION_TOKENS * CHAT_OUTPUT_PRICE
    assert Decimal(row.cost_picousd) / 10**12 == price / 10**6
