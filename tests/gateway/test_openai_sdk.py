"""The official `openai` SDK works against the hub with a model access key."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE, EMBED_PRICE
from tests.support.dataplane import MESSAGES
from tests.support.hub import Hub
from tests.support.upstream import (
    COMPLETION_TOKENS,
    CREDENTIAL,
    EMBEDDING_TOKENS_PER_INPUT,
    PROMPT_TOKENS,
    FakeUpstream,
)
from tests.support.usage import UsageRows

AVAILABLE = {
    "test-chat",
    "test-500",
    "test-401",
    "test-400",
    "test-slow",
    "test-drop",
    "test-nousage",
    "test-paced",
    "test-slowstream",
    "test-embed",
    "test-small",
    "test-cached",
}
"""Every test catalog model but `test-unconfigured`, whose credential is not set."""


def _chat_cost(prompt: int, completion: int) -> Decimal:
    return (prompt * CHAT_INPUT_PRICE + completion * CHAT_OUTPUT_PRICE) / 10**6


def test_lists_exactly_the_available_models(client: openai.OpenAI) -> None:
    """An unconfigured model is not offered to apps; everything servable is."""
    models = list(client.models.list())
    assert {model.id for model in models} == AVAILABLE
    assert all(model.object == "model" and model.owned_by == "fake" for model in models)


def test_chat_plain(
    client: openai.OpenAI,
    upstream: FakeUpstream,
    usage_rows: UsageRows,
    model_key: dict[str, str],
) -> None:
    """The upstream gets its own model name and credential; the row, the request's id and
    its exact counts."""
    raw = client.chat.completions.with_raw_response.create(model="test-chat", messages=MESSAGES)
    completion = raw.parse()
    assert completion.choices[0].message.content == "tok " * COMPLETION_TOKENS
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == PROMPT_TOKENS
    assert completion.usage.completion_tokens == COMPLETION_TOKENS
    assert upstream.seen.bodies[-1]["model"] == "fake-chat"
    assert upstream.seen.bodies[-1]["messages"] == MESSAGES
    assert upstream.seen.authorizations[-1] == f"Bearer {CREDENTIAL}"
    [row] = usage_rows.of_key(model_key["uuid"])
    assert row.request_id == raw.headers["x-request-id"]
    assert (row.model, row.status, row.estimated) == ("test-chat", "ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert Decimal(row.cost_picousd) / 10**12 == _chat_cost(PROMPT_TOKENS, COMPLETION_TOKENS)


@pytest.mark.parametrize("include_usage", [None, False, True])
def test_chat_streaming(
    client: openai.OpenAI,
    upstream: FakeUpstream,
    usage_rows: UsageRows,
    model_key: dict[str, str],
    include_usage: bool | None,
) -> None:
    """The hub always asks for usage, and hands the usage chunk on only when asked."""
    options: openai.types.chat.ChatCompletionStreamOptionsParam | openai.Omit = (
        openai.omit if include_usage is None else {"include_usage": include_usage}
    )
    stream = client.chat.completions.create(
        model="test-chat", messages=MESSAGES, stream=True, stream_options=options
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok " * COMPLETION_TOKENS
    usages = [c.usage for c in chunks if c.usage is not None]
    if include_usage:
        assert [(u.prompt_tokens, u.completion_tokens, u.total_tokens) for u in usages] == [
            (PROMPT_TOKENS, COMPLETION_TOKENS, PROMPT_TOKENS + COMPLETION_TOKENS)
        ]
        assert chunks[-1].usage is not None
        assert chunks[-1].choices == []
    else:
        assert usages == []
        assert all(c.choices for c in chunks)
    sent = upstream.seen.bodies[-1]
    assert sent["model"] == "fake-chat"
    assert sent["stream"] is True
    assert sent["stream_options"]["include_usage"] is True
    assert upstream.seen.authorizations[-1] == f"Bearer {CREDENTIAL}"
    [row] = usage_rows.of_key(model_key["uuid"])
    assert (row.status, row.estimated) == ("ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)


def test_embeddings(
    client: openai.OpenAI,
    upstream: FakeUpstream,
    usage_rows: UsageRows,
    model_key: dict[str, str],
) -> None:
    """Embeddings pass through and are charged for their input tokens only."""
    result = client.embeddings.create(model="test-embed", input=["a", "b"])
    assert [item.index for item in result.data] == [0, 1]
    assert result.data[0].embedding == [0.1, 0.2, 0.3]
    assert result.usage.prompt_tokens == 2 * EMBEDDING_TOKENS_PER_INPUT
    assert upstream.seen.bodies[-1]["model"] == "fake-embed"
    assert upstream.seen.bodies[-1]["input"] == ["a", "b"]
    [row] = usage_rows.of_key(model_key["uuid"])
    assert (row.model, row.status, row.estimated) == ("test-embed", "ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == (2 * EMBEDDING_TOKENS_PER_INPUT, 0)
    expected = 2 * EMBEDDING_TOKENS_PER_INPUT * EMBED_PRICE / 10**6
    assert Decimal(row.cost_picousd) / 10**12 == expected


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert caught.value.code == "model_not_found"


def test_unconfigured_model_is_503(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test-unconfigured", messages=MESSAGES)
    assert caught.value.status_code == 503
    assert "MODELPORT_TEST_MISSING_CREDENTIAL" in str(caught.value)


def test_bad_key_is_401(hub: Hub) -> None:
    sdk = openai.OpenAI(base_url=hub.url + "/v1", api_key="mp_nope", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError):
        sdk.models.list()
