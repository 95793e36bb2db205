"""A client that leaves mid-request is charged once for what it used, and the upstream call
is cancelled so the provider stops generating."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.upstream import FakeUpstream
from tests.support.usage import UsageRows, wait_until

PIECES = 40
"""A paced stream this long takes about 2 s, so a client leaving early leaves it unfinished."""
INPUT = int(CHAT_INPUT_PRICE * 10**6)
OUTPUT = int(CHAT_OUTPUT_PRICE * 10**6)
"""Picodollars per token."""


def estimate(messages: list[openai.types.chat.ChatCompletionMessageParam]) -> int:
    """The prompt as the hub estimates it when no usage came back: four characters a token."""
    return (sum(len(str(m.get("content", ""))) for m in messages) + 3) // 4


@pytest.mark.parametrize("k", [1, 3])
def test_leaving_a_stream_after_k_chunks_charges_the_partial_count(
    hub: Hub, api: httpx.Client, upstream: FakeUpstream, usage_rows: UsageRows, k: int
) -> None:
    key = create_key(api)
    cancelled = upstream.seen.cancelled
    with sdk(hub, key["secret_key"]) as client:
        stream = client.chat.completions.create(
            model="test-paced", messages=MESSAGES, stream=True, max_tokens=PIECES
        )
        pieces = 0
        for chunk in stream:
            pieces += bool(chunk.choices and chunk.choices[0].delta.content)
            if pieces == k:
                break
        stream.close()
    wait_until(lambda: upstream.seen.cancelled > cancelled, "the upstream stream to be cancelled")
    [row] = usage_rows.wait_for(key["uuid"], 1)
    assert (row.model, row.status, row.estimated) == ("test-paced", "client_disconnect", True)
    assert k <= row.completion_tokens < PIECES
    assert row.prompt_tokens == estimate(MESSAGES)
    assert row.cost_picousd == row.prompt_tokens * INPUT + row.completion_tokens * OUTPUT
    assert len(usage_rows.of_key(key["uuid"])) == 1


def test_leaving_a_plain_request_cancels_the_upstream_call(
    hub: Hub, api: httpx.Client, upstream: FakeUpstream, usage_rows: UsageRows
) -> None:
    key = create_key(api)
    cancelled = upstream.seen.cancelled
    with sdk(hub, key["secret_key"], timeout=0.5) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="test-slow", messages=MESSAGES)
    wait_until(lambda: upstream.seen.cancelled > cancelled, "the upstream call to be cancelled")
    [row] = usage_rows.wait_for(key["uuid"], 1)
    assert (row.model, row.status, row.estimated) == ("test-slow", "client_disconnect", True)
    assert (row.prompt_tokens, row.completion_tokens) == (estimate(MESSAGES), 0)
    assert len(usage_rows.of_key(key["uuid"])) == 1
