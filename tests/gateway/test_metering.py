"""Every request that reaches an upstream is metered once, at catalog prices, exactly."""

from __future__ import annotations

from decimal import Decimal

import httpx
import openai

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS


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
