"""Through /v1: a regenerated or deleted key's old secret is refused on the very next request,
while a request already running when the key changed finishes and is charged."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import openai
import pytest

from tests.support.dataplane import KEYS, MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.upstream import PACE_SECONDS, PROMPT_TOKENS
from tests.support.usage import UsageRows


def _warm(client: openai.OpenAI) -> None:
    """Use the secret once, so the hub has it in its verification cache."""
    assert "test-chat" in {model.id for model in client.models.list()}


def test_regenerate_refuses_the_old_secret_at_once(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    with sdk(hub, key["secret_key"]) as old:
        _warm(old)
        regenerated = api.put(f"{KEYS}/{key['uuid']}/regenerate")
        assert regenerated.status_code == 200, regenerated.text
        with pytest.raises(openai.AuthenticationError) as caught:
            old.chat.completions.create(model="test-chat", messages=MESSAGES)
        assert caught.value.status_code == 401
        assert caught.value.code == "invalid_api_key"
    new_secret = regenerated.json()["api_key_info"]["secret_key"]
    with sdk(hub, new_secret) as new:
        reply = new.chat.completions.create(model="test-chat", messages=MESSAGES)
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == PROMPT_TOKENS


def test_delete_refuses_the_secret_at_once(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    with sdk(hub, key["secret_key"]) as client:
        _warm(client)
        deleted = api.delete(f"{KEYS}/{key['uuid']}")
        assert deleted.status_code == 200, deleted.text
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        with pytest.raises(openai.AuthenticationError):
            client.embeddings.create(model="test-embed", input="a")


def test_a_request_in_flight_during_regenerate_finishes_and_is_charged(
    hub: Hub, api: httpx.Client, usage_rows: UsageRows
) -> None:
    key = create_key(api)
    pieces = 12
    with sdk(hub, key["secret_key"]) as old:
        stream = old.chat.completions.create(
            model="test-paced", messages=MESSAGES, stream=True, max_tokens=pieces
        )
        received = [next(stream), next(stream)]  # the role chunk and the first piece
        regenerated = api.put(f"{KEYS}/{key['uuid']}/regenerate")
        assert regenerated.status_code == 200, regenerated.text
        regenerated_at = datetime.now(UTC)
        with pytest.raises(openai.AuthenticationError):
            old.models.list()
        received.extend(stream)
    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text == "tok " * pieces
    [row] = usage_rows.of_key(key["uuid"])
    assert (row.model, row.status, row.estimated) == ("test-paced", "ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == (PROMPT_TOKENS, pieces)
    assert row.cost_picousd > 0
    assert row.created_at > regenerated_at, "the stream had ended before the regenerate"
    assert row.latency_ms >= pieces * PACE_SECONDS * 1000
