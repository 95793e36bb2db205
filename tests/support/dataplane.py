"""Model access keys and `openai` SDK clients for tests of the /v1 data plane."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import openai

from tests.support.hub import Hub

KEYS = "/v2/gen-ai/models/api_keys"
MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [
    {"role": "user", "content": "Say something."}
]


def create_key(api: httpx.Client, models: Sequence[str] | None = None) -> dict[str, Any]:
    """A new key's info, secret included, made through the key API."""
    body: dict[str, Any] = {"name": "app"}
    if models is not None:
        body["models"] = list(models)
    created = api.post(KEYS, json=body)
    assert created.status_code == 200, created.text
    info: dict[str, Any] = created.json()["api_key_info"]
    return info


def sdk(hub: Hub, secret: str, **options: Any) -> openai.OpenAI:
    """The official SDK pointed at the hub, without retries so every failure shows."""
    return openai.OpenAI(base_url=hub.url + "/v1", api_key=secret, max_retries=0, **options)


def async_sdk(hub: Hub, secret: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=hub.url + "/v1", api_key=secret, max_retries=0)
