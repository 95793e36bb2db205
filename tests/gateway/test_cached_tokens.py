"""Cached prompt tokens are charged at the model's cached-input price, reasoning tokens as the
output tokens they are; the usage row keeps both counts, exactly as the upstream reported."""

from __future__ import annotations

import httpx
import pytest

from modelport.core.money import picousd_per_token
from tests.support.catalog import CACHED_INPUT_PRICE, CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.upstream import CACHED_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS, REASONING_TOKENS
from tests.support.usage import UsageRows

FRESH = PROMPT_TOKENS - CACHED_TOKENS
COST = (
    FRESH * picousd_per_token(CHAT_INPUT_PRICE)
    + CACHED_TOKENS * picousd_per_token(CACHED_INPUT_PRICE)
    + COMPLETION_TOKENS * picousd_per_token(CHAT_OUTPUT_PRICE)
)


@pytest.mark.parametrize("stream", [False, True])
def test_cached_prompt_tokens_are_charged_at_the_cached_price(
    hub: Hub, api: httpx.Client, usage_rows: UsageRows, stream: bool
) -> None:
    key = create_key(api)
    with sdk(hub, key["secret_key"]) as client:
        if stream:
            chunks = list(
                client.chat.completions.create(
                    model="test-cached",
                    messages=MESSAGES,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )
            usage = chunks[-1].usage
        else:
            usage = client.chat.completions.create(model="test-cached", messages=MESSAGES).usage
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == CACHED_TOKENS
    [row] = usage_rows.of_key(key["uuid"])
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
        False,
    )
    assert (row.cached_prompt_tokens, row.reasoning_tokens) == (CACHED_TOKENS, REASONING_TOKENS)
    assert row.cost_picousd == COST
