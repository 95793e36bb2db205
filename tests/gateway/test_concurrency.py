"""Under concurrent load every request is metered exactly once, at exactly its price."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE
from tests.support.dataplane import KEYS, MESSAGES, async_sdk, create_key
from tests.support.hub import Hub
from tests.support.upstream import PROMPT_TOKENS
from tests.support.usage import UsageRows

REQUESTS = 500
CONCURRENCY = 32


def _max_tokens(index: int) -> int:
    """Varied lengths, so a row charged at the wrong request's count would show."""
    return 1 + index % 13


async def _load(hub: Hub, secret: str) -> list[tuple[int, int]]:
    """Send REQUESTS chats, CONCURRENCY at a time; the usage each response reported."""
    reported: list[tuple[int, int]] = []
    indexes = iter(range(REQUESTS))
    async with async_sdk(hub, secret) as client:

        async def worker() -> None:
            for index in indexes:
                reply = await client.chat.completions.create(
                    model="test-chat", messages=MESSAGES, max_tokens=_max_tokens(index)
                )
                assert reply.usage is not None
                reported.append((reply.usage.prompt_tokens, reply.usage.completion_tokens))

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return reported


async def test_500_concurrent_chats_leave_500_exact_rows(
    hub: Hub, api: httpx.Client, usage_rows: UsageRows
) -> None:
    key = create_key(api)
    reported = await _load(hub, key["secret_key"])
    assert len(reported) == REQUESTS
    rows = usage_rows.of_key(key["uuid"])
    assert len(rows) == REQUESTS
    assert len({row.request_id for row in rows}) == REQUESTS
    assert {(row.status, row.estimated, row.model) for row in rows} == {("ok", False, "test-chat")}
    prompt = sum(row.prompt_tokens for row in rows)
    completion = sum(row.completion_tokens for row in rows)
    assert prompt == sum(p for p, _ in reported) == REQUESTS * PROMPT_TOKENS
    assert completion == sum(c for _, c in reported) == sum(map(_max_tokens, range(REQUESTS)))
    for row in rows:
        price = row.prompt_tokens * CHAT_INPUT_PRICE + row.completion_tokens * CHAT_OUTPUT_PRICE
        assert Decimal(row.cost_picousd) / 10**12 == price / 10**6
    expected = (prompt * CHAT_INPUT_PRICE + completion * CHAT_OUTPUT_PRICE) / 10**6
    totals = api.get(f"{KEYS}/{key['uuid']}/usage").json()["totals"]
    assert totals["requests"] == REQUESTS
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (prompt, completion)
    assert Decimal(totals["cost"]) == expected
