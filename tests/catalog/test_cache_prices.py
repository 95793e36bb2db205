"""`GET /v2/gen-ai/models` shows a model's cache prices when it sets them, and leaves them
out (never null) when it does not; the OpenAPI document types them as numbers."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.support.catalog import CACHE_WRITE_PRICE, CACHED_INPUT_PRICE, CHAT_INPUT_PRICE
from tests.support.hub import Hub

CACHE_PRICES = ("cache_read_input_price_per_million", "cache_write_input_price_per_million")


def test_cache_prices_are_listed_when_set_and_left_out_when_not(api: httpx.Client) -> None:
    listed = api.get("/v2/gen-ai/models", params={"per_page": 200})
    assert listed.status_code == 200, listed.text
    pricing = {m["id"]: m["pricing"] for m in listed.json()["models"]}
    cached = pricing["test-cached"]
    assert Decimal(str(cached["input_price_per_million"])) == CHAT_INPUT_PRICE
    assert Decimal(str(cached["cache_read_input_price_per_million"])) == CACHED_INPUT_PRICE
    assert Decimal(str(cached["cache_write_input_price_per_million"])) == CACHE_WRITE_PRICE
    for model in ("test-chat", "test-embed"):
        assert not set(CACHE_PRICES) & set(pricing[model]), pricing[model]


def test_the_document_types_them_as_numbers(hub: Hub) -> None:
    document = httpx.get(hub.url + "/openapi.json").json()
    pricing = document["components"]["schemas"]["Pricing"]
    for name in CACHE_PRICES:
        assert pricing["properties"][name]["type"] == "number"
        assert name not in pricing["required"]
