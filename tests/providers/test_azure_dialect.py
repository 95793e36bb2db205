"""The Azure OpenAI dialect: its URLs and credential, then real calls to the fake's Azure paths.

The calls go through the pooled `UpstreamClient`, as the pipeline makes them: the dialect's
target, path and payload, the answer's usage read by the dialect, a stream read by its meter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from modelport.core.pricing import Tokens
from modelport.providers.dialects import AzureDialect, Dialect
from modelport.providers.dialects.azure import API_VERSION
from modelport.providers.upstream import Target, UpstreamClient
from tests.support.scripted import client
from tests.support.upstream import (
    COMPLETION_TOKENS,
    CREDENTIAL,
    EMBEDDING_TOKENS_PER_INPUT,
    PROMPT_TOKENS,
    FakeUpstream,
)

HELLO = {"messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
async def upstream_client() -> AsyncIterator[UpstreamClient]:
    async with client() as upstream:
        yield upstream


def test_paths_name_the_deployment_and_the_api_version() -> None:
    dialect = AzureDialect("gpt-4o.mini_eu", "2025-01-01-preview")
    assert dialect.path("chat") == (
        "/openai/deployments/gpt-4o.mini_eu/chat/completions?api-version=2025-01-01-preview"
    )
    assert dialect.path("embeddings") == (
        "/openai/deployments/gpt-4o.mini_eu/embeddings?api-version=2025-01-01-preview"
    )
    assert AzureDialect("gpt4").path("chat").endswith(f"?api-version={API_VERSION}")


def test_it_serves_chat_and_embeddings_and_translates_the_rest_through_chat() -> None:
    dialect: Dialect = AzureDialect("gpt4")
    assert (dialect.name, dialect.pivot) == ("azure", "chat")
    served = {api for api in ("chat", "embeddings", "responses", "messages", "count_tokens")
              if dialect.speaks(api, native_responses=True)}  # fmt: skip
    assert served == {"chat", "embeddings"}


@pytest.mark.parametrize(
    "name", ["", "../chat", "a/b", "a b", "a?x=1", "-leading", ".hidden", "a" * 65, "é"]
)
def test_a_deployment_name_that_is_not_azures_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="deployment name"):
        AzureDialect(name)


@pytest.mark.parametrize("version", ["", "latest", "2024-10-21&x=1", "2024-10-21-beta"])
def test_an_api_version_that_is_not_a_date_is_refused(version: str) -> None:
    with pytest.raises(ValueError, match="api-version"):
        AzureDialect("gpt4", version)


def test_the_credential_goes_in_api_key_and_nowhere_else() -> None:
    target = AzureDialect("gpt4").target("https://res.openai.azure.com", "azure-key")
    assert target == Target("https://res.openai.azure.com", (("api-key", "azure-key"),))
    assert AzureDialect("gpt4").target("https://res.openai.azure.com", None).headers == ()
    assert AzureDialect("gpt4").headers({"anthropic-version": "2023-06-01"}) == ()


def test_the_payload_is_openais_with_usage_asked_for_in_streams() -> None:
    payload = {**HELLO, "stream": True, "stream_options": {"include_obfuscation": False}}
    prepared = AzureDialect("gpt4").prepare("chat", payload, "gpt-4o")
    assert prepared == {
        **HELLO,
        "model": "gpt-4o",
        "stream": True,
        "stream_options": {"include_obfuscation": False, "include_usage": True},
    }
    assert payload["stream_options"] == {"include_obfuscation": False}


async def _post(
    upstream_client: UpstreamClient, fake: FakeUpstream, dialect: AzureDialect, api: Any, body: Any
) -> tuple[int, bytes]:
    payload = orjson.dumps(dialect.prepare(api, body, "gpt-4o"))
    target = dialect.target(fake.root, CREDENTIAL)
    async with upstream_client.post(target, dialect.path(api), payload) as reply:
        return reply.status, await reply.read()


def _only_in_api_key(headers: dict[str, str]) -> None:
    assert headers["api-key"] == CREDENTIAL
    assert "authorization" not in headers
    assert [name for name, value in headers.items() if CREDENTIAL in value] == ["api-key"]


async def test_a_chat_call_reaches_the_deployment_and_reports_its_usage(
    upstream_client: UpstreamClient, upstream: FakeUpstream
) -> None:
    dialect = AzureDialect("fake-cached", "2024-10-21")
    status, body = await _post(upstream_client, upstream, dialect, "chat", HELLO)
    assert status == 200, body
    assert dialect.usage("chat", orjson.loads(body)) == Tokens(
        PROMPT_TOKENS, COMPLETION_TOKENS, cached_prompt=4, reasoning=3
    )
    assert upstream.seen.paths[-1] == "/openai/deployments/fake-cached/chat/completions"
    assert upstream.seen.deployments[-1] == "fake-cached"
    assert upstream.seen.bodies[-1]["model"] == "gpt-4o"
    _only_in_api_key(upstream.seen.headers[-1])


async def test_a_streamed_chat_call_is_metered_from_its_usage_chunk(
    upstream_client: UpstreamClient, upstream: FakeUpstream
) -> None:
    dialect = AzureDialect("fake-chat")
    meter = dialect.meter("chat")
    payload = orjson.dumps(dialect.prepare("chat", {**HELLO, "max_tokens": 5, "stream": True}, "m"))
    kinds = []
    target = dialect.target(upstream.root, CREDENTIAL)
    async with upstream_client.post(target, dialect.path("chat"), payload) as reply:
        assert reply.status == 200
        async for batch in reply.events():
            kinds += [meter.read(event.event, event.data)[0] for event in batch]
    assert kinds[-1] == "end"
    assert (meter.tokens, meter.pieces) == (Tokens(PROMPT_TOKENS, 5), 5)
    assert upstream.seen.bodies[-1]["stream_options"] == {"include_usage": True}
    _only_in_api_key(upstream.seen.headers[-1])


async def test_an_embeddings_call_reports_its_usage(
    upstream_client: UpstreamClient, upstream: FakeUpstream
) -> None:
    dialect = AzureDialect("text-embedding-3-small")
    body = {"input": ["one", "two", "three"]}
    status, answer = await _post(upstream_client, upstream, dialect, "embeddings", body)
    assert status == 200, answer
    assert len(orjson.loads(answer)["data"]) == 3
    assert dialect.usage("embeddings", orjson.loads(answer)) == Tokens(
        3 * EMBEDDING_TOKENS_PER_INPUT, 0
    )
    assert upstream.seen.paths[-1] == "/openai/deployments/text-embedding-3-small/embeddings"
    assert upstream.seen.deployments[-1] == "text-embedding-3-small"
    _only_in_api_key(upstream.seen.headers[-1])


async def test_a_wrong_key_is_refused_as_azure_refuses_it(
    upstream_client: UpstreamClient, upstream: FakeUpstream
) -> None:
    dialect = AzureDialect("fake-chat")
    target = dialect.target(upstream.root, "not-the-key")
    async with upstream_client.post(target, dialect.path("chat"), orjson.dumps(HELLO)) as reply:
        status, body = reply.status, await reply.read()
    assert status == 401
    assert orjson.loads(body)["error"]["code"] == "401"
    assert (dialect.error_message(body) or "").startswith("Access denied")


async def test_a_path_without_api_version_is_not_found(
    upstream_client: UpstreamClient, upstream: FakeUpstream
) -> None:
    dialect = AzureDialect("fake-chat")
    target = dialect.target(upstream.root, CREDENTIAL)
    path = dialect.path("chat").split("?")[0]
    async with upstream_client.post(target, path, orjson.dumps(HELLO)) as reply:
        status, body = reply.status, await reply.read()
    assert (status, dialect.error_message(body)) == (404, "Resource not found")
