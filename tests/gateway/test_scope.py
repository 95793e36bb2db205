"""A key limited to some models can call those and nothing else, and sees only those."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.dataplane import KEYS, MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.upstream import FakeUpstream


def test_a_scoped_key_calls_only_its_models(
    hub: Hub, api: httpx.Client, upstream: FakeUpstream
) -> None:
    key = create_key(api, models=["test-chat"])
    assert key["models"] == ["test-chat"]
    with sdk(hub, key["secret_key"]) as client:
        assert [model.id for model in client.models.list()] == ["test-chat"]
        assert client.chat.completions.create(model="test-chat", messages=MESSAGES).choices
        seen = len(upstream.seen.bodies)
        with pytest.raises(openai.PermissionDeniedError) as refused:
            client.embeddings.create(model="test-embed", input="a")
        assert refused.value.code == "model_not_allowed"
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="test-small", messages=MESSAGES, stream=True)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert len(upstream.seen.bodies) == seen, "a refused request reached the upstream"


def test_the_scope_is_shown_and_kept_across_regenerate(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api, models=["test-embed", "test-chat"])
    assert key["models"] == ["test-chat", "test-embed"]
    regenerated = api.put(f"{KEYS}/{key['uuid']}/regenerate").json()["api_key_info"]
    assert regenerated["models"] == ["test-chat", "test-embed"]
    with sdk(hub, regenerated["secret_key"]) as client:
        assert {model.id for model in client.models.list()} == {"test-chat", "test-embed"}
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="test-paced", messages=MESSAGES)


@pytest.mark.parametrize("models", [["test-chat", "no-such-model"], [], [""]])
def test_a_scope_outside_the_catalog_is_refused(api: httpx.Client, models: list[str]) -> None:
    created = api.post(KEYS, json={"name": "scoped", "models": models})
    assert created.status_code == 400, created.text
    assert created.json()["id"] == "bad_request"
    if "no-such-model" in models:
        assert "no-such-model" in created.json()["message"]
