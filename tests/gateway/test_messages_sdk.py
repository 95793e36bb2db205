"""`/v1/messages` through the official `anthropic` SDK: on an Anthropic upstream (passthrough)
and on an OpenAI-compatible one (translated through chat). Metered once with the upstream's
exact counts, scoped and limited like chat, errors in Anthropic's shape."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import pytest
from anthropic.types import ToolParam

from modelport.core.money import picousd_per_token
from tests.support.anthropic_upstream import (
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    FakeAnthropic,
    count_input_tokens,
)
from tests.support.catalog import (
    CACHE_WRITE_PRICE,
    CACHED_INPUT_PRICE,
    CHAT_INPUT_PRICE,
    CHAT_OUTPUT_PRICE,
)
from tests.support.dataplane import KEYS, create_key
from tests.support.fake_server import TOOL_ARGUMENTS, TOOL_RESULT_PREFIX
from tests.support.hub import Hub
from tests.support.upstream import PROMPT_TOKENS
from tests.support.usage import UsageRows, wait_until, whole_window

ASKED = 7
"""max_tokens of every request: the OpenAI fake answers this many tokens, the Anthropic one
OUTPUT_TOKENS (fewer)."""
UPSTREAMS = {"test-claude-chat": (INPUT_TOKENS, OUTPUT_TOKENS), "test-chat": (PROMPT_TOKENS, ASKED)}
HELLO: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Say something."}]
WEATHER: ToolParam = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(params=sorted(UPSTREAMS))
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def key(api: httpx.Client) -> dict[str, str]:
    return create_key(api)


def claude(hub: Hub, secret: str) -> anthropic.Anthropic:
    """Anthropic's SDK pointed at the hub, as `ANTHROPIC_BASE_URL` points Claude Code."""
    return anthropic.Anthropic(base_url=hub.url, api_key=secret, max_retries=0)


@pytest.fixture
def client(hub: Hub, key: dict[str, str]) -> Iterator[anthropic.Anthropic]:
    with claude(hub, key["secret_key"]) as client:
        yield client


def test_create_answers_in_anthropics_shape_and_meters_once(
    client: anthropic.Anthropic, key: dict[str, str], usage_rows: UsageRows, model: str
) -> None:
    message = client.messages.create(
        model=model, max_tokens=ASKED, messages=HELLO, system="Be brief."
    )
    assert (message.type, message.role, message.model) == ("message", "assistant", model)
    assert message.content[0].type == "text"
    assert message.content[0].text
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert (message.usage.input_tokens, message.usage.output_tokens) == UPSTREAMS[model]
    [row] = usage_rows.of_key(key["uuid"])
    assert (row.model, row.status, row.estimated) == (model, "ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == UPSTREAMS[model]


def test_a_stream_is_anthropics_event_sequence_with_exact_usage(
    client: anthropic.Anthropic, key: dict[str, str], usage_rows: UsageRows, model: str
) -> None:
    with client.messages.stream(model=model, max_tokens=ASKED, messages=HELLO) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text
    assert final.content[0].text == text  # type: ignore[union-attr]
    assert final.model == model
    assert (final.usage.input_tokens, final.usage.output_tokens) == UPSTREAMS[model]
    [row] = usage_rows.of_key(key["uuid"])
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (*UPSTREAMS[model], False)


def test_a_tool_use_round_trip(client: anthropic.Anthropic, model: str) -> None:
    asked = client.messages.create(
        model=model,
        max_tokens=ASKED,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert asked.stop_reason == "tool_use"
    [use] = [block for block in asked.content if block.type == "tool_use"]
    assert (use.name, use.input) == ("get_weather", TOOL_ARGUMENTS)
    answered = client.messages.create(
        model=model,
        max_tokens=ASKED,
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": asked.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
            },
        ],
    )
    assert answered.content[0].text == TOOL_RESULT_PREFIX + "sunny"  # type: ignore[union-attr]


def test_count_tokens_is_the_upstreams_on_anthropic_and_an_estimate_elsewhere(
    hub: Hub, key: dict[str, str], client: anthropic.Anthropic, usage_rows: UsageRows
) -> None:
    request = {"system": "Be brief.", "messages": HELLO}
    counted = client.messages.count_tokens(model="test-claude-chat", **request)  # type: ignore[arg-type]
    assert counted.input_tokens == count_input_tokens(request)
    for model, source in (("test-claude-chat", "upstream"), ("test-chat", "estimate")):
        answer = httpx.post(
            hub.url + "/v1/messages/count_tokens",
            json={"model": model, **request},
            headers={"x-api-key": key["secret_key"]},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-modelport-token-count"] == source
    assert usage_rows.of_key(key["uuid"]) == [], "counting costs nothing and is not recorded"


def test_cache_reads_and_writes_are_charged_at_their_prices(
    client: anthropic.Anthropic, key: dict[str, str], usage_rows: UsageRows
) -> None:
    message = client.messages.create(model="test-claude-cached", max_tokens=ASKED, messages=HELLO)
    assert message.usage.cache_read_input_tokens == CACHE_READ_TOKENS
    assert message.usage.cache_creation_input_tokens == CACHE_WRITE_TOKENS
    [row] = usage_rows.of_key(key["uuid"])
    assert row.prompt_tokens == INPUT_TOKENS + CACHE_READ_TOKENS + CACHE_WRITE_TOKENS
    assert (row.cached_prompt_tokens, row.cache_write_tokens) == (
        CACHE_READ_TOKENS,
        CACHE_WRITE_TOKENS,
    )
    assert row.cost_picousd == (
        INPUT_TOKENS * picousd_per_token(CHAT_INPUT_PRICE)
        + CACHE_READ_TOKENS * picousd_per_token(CACHED_INPUT_PRICE)
        + CACHE_WRITE_TOKENS * picousd_per_token(CACHE_WRITE_PRICE)
        + OUTPUT_TOKENS * picousd_per_token(CHAT_OUTPUT_PRICE)
    )


def test_the_key_may_come_as_x_api_key_and_betas_pass_through(
    hub: Hub, key: dict[str, str], anthropic_upstream: FakeAnthropic
) -> None:
    answer = httpx.post(
        hub.url + "/v1/messages",
        json={"model": "test-claude-chat", "max_tokens": ASKED, "messages": HELLO},
        headers={"x-api-key": key["secret_key"], "anthropic-beta": "fine-grained-tool-streaming"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    seen = anthropic_upstream.seen.headers[-1]
    assert seen["anthropic-beta"] == "fine-grained-tool-streaming"
    assert seen["x-api-key"] != key["secret_key"], "the upstream gets its own credential"


def test_errors_come_in_anthropics_shape(hub: Hub, api: httpx.Client, key: dict[str, str]) -> None:
    with claude(hub, "mp_" + "x" * 38) as stranger, pytest.raises(anthropic.AuthenticationError):
        stranger.messages.create(model="test-claude-chat", max_tokens=ASKED, messages=HELLO)
    with claude(hub, key["secret_key"]) as client:
        with pytest.raises(anthropic.NotFoundError) as missing:
            client.messages.create(model="no-such-model", max_tokens=ASKED, messages=HELLO)
        assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    bad = httpx.post(
        hub.url + "/v1/messages",
        json={"model": "test-claude-chat", "messages": HELLO},
        headers={"x-api-key": key["secret_key"]},
        timeout=10,
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "max_tokens: must be a positive integer.",
        },
    }


def test_a_revoked_key_is_refused_at_once_and_limits_apply(hub: Hub, api: httpx.Client) -> None:
    limited = api.post(KEYS, json={"name": "one a minute", "rpm_limit": 1}).json()["api_key_info"]
    whole_window()
    with claude(hub, limited["secret_key"]) as client:
        client.messages.create(model="test-claude-chat", max_tokens=ASKED, messages=HELLO)
        with pytest.raises(anthropic.RateLimitError):
            client.messages.create(model="test-claude-chat", max_tokens=ASKED, messages=HELLO)
    key = create_key(api)
    with claude(hub, key["secret_key"]) as client:
        client.messages.create(model="test-claude-chat", max_tokens=ASKED, messages=HELLO)
        assert api.delete(f"{KEYS}/{key['uuid']}").status_code == 200
        with pytest.raises(anthropic.AuthenticationError):
            client.messages.create(model="test-claude-chat", max_tokens=ASKED, messages=HELLO)


def test_a_key_limited_to_other_models_is_forbidden(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api, models=["test-chat"])
    with claude(hub, key["secret_key"]) as client, pytest.raises(anthropic.PermissionDeniedError):
        client.messages.create(model="test-claude-chat", max_tokens=ASKED, messages=HELLO)


def test_leaving_a_stream_charges_the_exact_prompt_and_what_was_delivered(
    client: anthropic.Anthropic,
    key: dict[str, str],
    usage_rows: UsageRows,
    anthropic_upstream: FakeAnthropic,
) -> None:
    """The prompt's count came in `message_start`, before the client left: it is exact."""
    cancelled = anthropic_upstream.seen.cancelled
    with client.messages.stream(model="test-claude-paced", max_tokens=40, messages=HELLO) as stream:
        for delivered, _ in enumerate(stream.text_stream, start=1):
            if delivered == 3:
                break
    wait_until(lambda: anthropic_upstream.seen.cancelled > cancelled, "the upstream cancelled")
    [row] = usage_rows.wait_for(key["uuid"], 1)
    assert (row.status, row.estimated, row.prompt_tokens) == (
        "client_disconnect",
        True,
        INPUT_TOKENS,
    )
    assert 3 <= row.completion_tokens < 40


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ([{"role": "user", "content": [{"type": "hologram", "data": "x"}]}], "content.0"),
        ([{"role": "robot", "content": "hi"}], "messages.0"),
        ([{"role": "user", "content": 5}], "messages.0.content"),
        ([], "messages"),
    ],
)
def test_bad_input_is_anthropics_400_and_reaches_nothing(
    hub: Hub,
    key: dict[str, str],
    usage_rows: UsageRows,
    anthropic_upstream: FakeAnthropic,
    model: str,
    messages: list[object],
    where: str,
) -> None:
    seen = len(anthropic_upstream.seen.bodies)
    answer = httpx.post(
        hub.url + "/v1/messages",
        json={"model": model, "max_tokens": ASKED, "messages": messages},
        headers={"x-api-key": key["secret_key"]},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert (error["type"], error["error"]["type"]) == ("error", "invalid_request_error")
    assert where in error["error"]["message"]
    assert len(anthropic_upstream.seen.bodies) == seen
    assert usage_rows.of_key(key["uuid"]) == []
