"""`GET /v1/models/{id}`: the SDK's `models.retrieve`, within the key's scope."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.support.hub import Hub


def test_retrieves_an_available_model(client: openai.OpenAI) -> None:
    model = client.models.retrieve("test-chat")
    assert (model.id, model.owned_by) == ("test-chat", "fake")


@pytest.mark.parametrize("model", ["no-such-model", "test-unconfigured"])
def test_unknown_or_unavailable_models_are_404(client: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve(model)


def test_a_scoped_key_sees_only_its_models(hub: Hub, api: httpx.Client) -> None:
    info = api.post(
        "/v2/gen-ai/models/api_keys", json={"name": "scoped", "models": ["test-chat"]}
    ).json()["api_key_info"]
    sdk = openai.OpenAI(base_url=hub.url + "/v1", api_key=info["secret_key"], max_retries=0)
    with sdk:
        assert sdk.models.retrieve("test-chat").id == "test-chat"
        with pytest.raises(openai.NotFoundError):
            sdk.models.retrieve("test-embed")


def test_bare_v1_answers_in_the_openai_shape(hub: Hub) -> None:
    response = httpx.get(hub.url + "/v1")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
