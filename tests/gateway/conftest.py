"""Fixtures for the data plane: a model access key and an `openai` client that uses it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.dataplane import create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.usage import UsageRows

KEYS = "/v2/gen-ai/models/api_keys"


@pytest.fixture
def model_key(api: httpx.Client) -> dict[str, str]:
    """A fresh model access key's info, secret included."""
    return create_key(api)


@pytest.fixture
def client(hub: Hub, model_key: dict[str, str]) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK, pointed at the hub with a model access key."""
    with sdk(hub, model_key["secret_key"]) as client:
        yield client


@pytest.fixture(scope="session")
def usage_rows(hub: Hub, loop: BackgroundLoop) -> Iterator[UsageRows]:
    """The usage rows in the hub's database, as the recorder committed them."""
    rows = UsageRows(hub.database_url, loop)
    yield rows
    rows.close()
