"""Fixtures for the usage tests: a key with known usage behind it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import openai
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE, EMBED_PRICE
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub, Team
from tests.support.loop import BackgroundLoop
from tests.support.upstream import EMBEDDING_TOKENS_PER_INPUT, PROMPT_TOKENS
from tests.support.usage import Detailed, UsageRows, write_detailed


@dataclass(frozen=True)
class Used:
    """A key and exactly what it was used for, to compare reports against."""

    key_id: str
    secret: str
    before: datetime
    """A moment before the first request."""
    by_model: dict[str, tuple[int, int, int, Decimal]]
    """model -> (requests, prompt tokens, completion tokens, cost in USD)."""

    @property
    def requests(self) -> int:
        return sum(r for r, _, _, _ in self.by_model.values())

    @property
    def cost(self) -> Decimal:
        return sum((c for _, _, _, c in self.by_model.values()), Decimal(0))


def use_key(hub: Hub, api: httpx.Client) -> Used:
    """A new key used for two chats, one embedding and one failed call (charged nothing)."""
    key = create_key(api)
    before = datetime.now(UTC)
    with sdk(hub, key["secret_key"]) as client:
        for max_tokens in (3, 5):
            client.chat.completions.create(
                model="test-chat", messages=MESSAGES, max_tokens=max_tokens
            )
        client.embeddings.create(model="test-embed", input="a")
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="test-500", messages=MESSAGES)
    chat_cost = (2 * PROMPT_TOKENS * CHAT_INPUT_PRICE + 8 * CHAT_OUTPUT_PRICE) / 10**6
    return Used(
        key_id=key["uuid"],
        secret=key["secret_key"],
        before=before,
        by_model={
            "test-500": (1, 0, 0, Decimal(0)),
            "test-chat": (2, 2 * PROMPT_TOKENS, 8, chat_cost),
            "test-embed": (
                1,
                EMBEDDING_TOKENS_PER_INPUT,
                0,
                EMBEDDING_TOKENS_PER_INPUT * EMBED_PRICE / 10**6,
            ),
        },
    )


@pytest.fixture
def used(hub: Hub, api: httpx.Client) -> Used:
    """A used key in the test's own team, for tests that change the key or add others."""
    return use_key(hub, api)


@pytest.fixture(scope="module")
def reading_team(hub: Hub) -> Team:
    """A team for the tests that only read, shared so its usage is made once per module."""
    return hub.new_team()


@pytest.fixture(scope="module")
def reader(hub: Hub, reading_team: Team) -> Iterator[httpx.Client]:
    with hub.client(reading_team.token) as client:
        yield client


@pytest.fixture(scope="module")
def shared_used(hub: Hub, reader: httpx.Client) -> Used:
    """The reading team's one used key. Tests using it must not change it."""
    return use_key(hub, reader)


@pytest.fixture(scope="module")
def detailed_team(hub: Hub) -> Team:
    """A team whose only usage is `detailed`'s."""
    return hub.new_team()


@pytest.fixture(scope="module")
def detailed(hub: Hub, loop: BackgroundLoop, detailed_team: Team) -> Detailed:
    """Usage with known cached, cache-write and reasoning tokens, in `detailed_team`."""
    rows = UsageRows(hub.database_url, loop)
    try:
        with hub.client(detailed_team.token) as api:
            return write_detailed(api, detailed_team.name, rows)
    finally:
        rows.close()
