"""Fixtures for the data plane: a model access key and an `openai` client that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.hub import Hub

KEYS = "/v2/gen-ai/models/api_keys"


@pytest.fixture
def model_key(api: httpx.Client) -> dict[str, str]:
    """A fresh model access key's info, secret included."""
    info: dict[str, str] = api.post(KEYS, json={"name": "app"}).json()["api_key_info"]
    return info


@pytest.fixture
def client(hub: Hub, model_key: dict[str, str]) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK, pointed at the hub with a model access key."""
    with openai.OpenAI(
        base_url=hub.url + "/v1", api_key=model_key["secret_key"], max_retries=0
    ) as sdk:
        yield sdk
