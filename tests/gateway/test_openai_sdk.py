"""The official `openai` SDK works against the hub with a model access key."""

from __future__ import annotations

import openai
import pytest

from tests.support.hub import Hub
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS, FakeUpstream

MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "user", "content": "Say something."}
]


def test_lists_models(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}
    assert "test-chat" in ids
    assert "test-embed" in ids
    assert "test-unconfigured" not in ids


def test_chat_plain(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    completion = client.chat.completions.create(model="test-chat", messages=MESSAGES)
    assert completion.choices[0].message.content == "tok " * COMPLETION_TOKENS
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == PROMPT_TOKENS
    sent = upstream.seen.bodies[-1]
    assert sent["model"] == "fake-chat"


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_streaming(client: openai.OpenAI, upstream: FakeUpstream, include_usage: bool) -> None:
    stream = client.chat.completions.create(
        model="test-chat",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": include_usage},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok " * COMPLETION_TOKENS
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == (1 if include_usage else 0)
    assert upstream.seen.bodies[-1]["stream_options"]["include_usage"] is True


def test_embeddings(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="test-embed", input=["a", "b"])
    assert len(result.data) == 2
    assert result.usage.prompt_tokens == 10


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=MESSAGES)


def test_unconfigured_model_is_503(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test-unconfigured", messages=MESSAGES)
    assert caught.value.status_code == 503
    assert "MODELPORT_TEST_MISSING_CREDENTIAL" in str(caught.value)


def test_bad_key_is_401(hub: Hub) -> None:
    sdk = openai.OpenAI(base_url=hub.url + "/v1", api_key="mp_nope", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError):
        sdk.models.list()
