"""The fake Anthropic answers as Anthropic does: the official SDK, pointed at it directly (no
hub), talks to it, and its answers and events parse strictly as the SDK's own types."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageParam, RawMessageStreamEvent, ToolParam
from pydantic import TypeAdapter

from tests.support.anthropic_upstream import (
    CACHE_READ_TOKENS,
    CACHE_WRITE_TOKENS,
    COUNT_BASE,
    CREDENTIAL,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    TOOL_USE_ID,
    FakeAnthropic,
    count_input_tokens,
)
from tests.support.fake_server import TOOL_ARGUMENTS, TOOL_RESULT_PREFIX

TOOLS: list[ToolParam] = [{"name": "get_weather", "input_schema": {"type": "object"}}]
USER: list[MessageParam] = [{"role": "user", "content": "Weather in Paris?"}]
HEADERS = {"x-api-key": CREDENTIAL, "anthropic-version": "2023-06-01"}
EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


@pytest.fixture
def client(anthropic_upstream: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=anthropic_upstream.root, api_key=CREDENTIAL, max_retries=0)


def _post(fake: FakeAnthropic, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(fake.url + "/messages", json=body, headers={**HEADERS, **headers})


def _events(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each event, as Anthropic frames them."""
    found = []
    for block in raw.decode().strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_create_with_cache_use(
    client: anthropic.Anthropic, anthropic_upstream: FakeAnthropic
) -> None:
    said = client.messages.create(model="claude-cached", max_tokens=100, messages=USER)
    assert said.content[0].type == "text"
    assert said.content[0].text == "tok " * OUTPUT_TOKENS
    assert said.stop_reason == "end_turn"
    usage = said.usage
    assert (usage.input_tokens, usage.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert usage.cache_read_input_tokens == CACHE_READ_TOKENS
    assert usage.cache_creation_input_tokens == CACHE_WRITE_TOKENS
    raw = _post(anthropic_upstream, {"model": "claude-chat", "max_tokens": 3, "messages": USER})
    cut = Message.model_validate(raw.json())
    assert (cut.stop_reason, cut.usage.output_tokens) == ("max_tokens", 3)
    assert anthropic_upstream.seen.headers[-1]["x-api-key"] == CREDENTIAL


@pytest.mark.parametrize("tools", [None, TOOLS])
def test_stream_event_sequence(anthropic_upstream: FakeAnthropic, tools: Any) -> None:
    """Anthropic's events, each named on its `event:` line: usage split between message_start
    (input) and message_delta (the cumulative output)."""
    body: dict[str, Any] = {"model": "claude-chat", "max_tokens": 100, "messages": USER}
    body.update(stream=True, **({"tools": tools} if tools else {}))
    framed = _events(_post(anthropic_upstream, body).content)
    assert all(name == data["type"] for name, data in framed)
    names = [name for name, _ in framed]
    deltas = names.count("content_block_delta")
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "ping",
        "message_delta",
        "message_stop",
    ]
    assert deltas > 2
    events = [EVENTS.validate_python(data) for name, data in framed if name != "ping"]
    assert events[0].message.usage.input_tokens == INPUT_TOKENS
    assert events[-2].usage.output_tokens == OUTPUT_TOKENS
    kind = "input_json_delta" if tools else "text_delta"
    assert {event.delta.type for event in events[2:-3]} == {kind}
    assert events[-2].delta.stop_reason == ("tool_use" if tools else "end_turn")


def test_tool_use_round_trip(
    client: anthropic.Anthropic, anthropic_upstream: FakeAnthropic
) -> None:
    """A tool_use of the first tool, streamed in pieces; then an answer quoting the result."""
    with client.messages.stream(
        model="claude-chat", max_tokens=100, messages=USER, tools=TOOLS
    ) as stream:
        called = stream.get_final_message()
    use = called.content[0]
    assert use.type == "tool_use"
    assert (use.id, use.name, use.input) == (TOOL_USE_ID, "get_weather", TOOL_ARGUMENTS)
    assert called.stop_reason == "tool_use"
    result: MessageParam = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "22 degrees"}],
    }
    history: list[MessageParam] = [*USER, {"role": "assistant", "content": [use]}, result]
    answered = client.messages.create(
        model="claude-chat", max_tokens=100, messages=history, tools=TOOLS
    )
    assert answered.content[0].type == "text"
    assert answered.content[0].text == TOOL_RESULT_PREFIX + "22 degrees"
    assert anthropic_upstream.seen.sent_to("/v1/messages")[-1]["messages"][-1] == result


def test_count_tokens(client: anthropic.Anthropic, anthropic_upstream: FakeAnthropic) -> None:
    counted = client.messages.count_tokens(
        model="claude-chat", system="Be brief.", messages=[{"role": "user", "content": "Hello"}]
    )
    assert counted.input_tokens == COUNT_BASE + len("Be brief.") + len("Hello")
    assert counted.input_tokens == count_input_tokens(anthropic_upstream.seen.bodies[-1])
    assert anthropic_upstream.seen.paths[-1] == "/v1/messages/count_tokens"


def test_authentication(anthropic_upstream: FakeAnthropic) -> None:
    """A wrong key is a 401 in Anthropic's error shape; a missing version, a 400."""
    body = {"model": "claude-chat", "max_tokens": 10, "messages": USER}
    wrong = _post(anthropic_upstream, body, **{"x-api-key": "sk-ant-wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["type"] == "error"
    assert wrong.json()["error"]["type"] == "authentication_error"
    unversioned = httpx.post(
        anthropic_upstream.url + "/messages", json=body, headers={"x-api-key": CREDENTIAL}
    )
    assert unversioned.status_code == 400
    assert _post(anthropic_upstream, body).status_code == 200


@pytest.mark.parametrize(
    ("messages", "complaint"),
    [
        ([{"role": "system", "content": "Be brief."}, *USER], 'Unexpected role "system"'),
        (
            [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}],
            "unexpected `tool_use_id`",
        ),
    ],
)
def test_malformed_messages(client: anthropic.Anthropic, messages: Any, complaint: str) -> None:
    with pytest.raises(anthropic.BadRequestError, match=complaint):
        client.messages.create(model="claude-chat", max_tokens=10, messages=messages)


def test_failures_echo_the_credential(client: anthropic.Anthropic) -> None:
    """The leaks a hub must stop: an error answer, and an `event: error` mid-stream."""
    with pytest.raises(anthropic.BadRequestError, match=CREDENTIAL):
        client.messages.create(model="claude-400", max_tokens=10, messages=USER)
    with (
        pytest.raises(anthropic.APIStatusError, match=CREDENTIAL),
        client.messages.stream(model="claude-errorevent", max_tokens=10, messages=USER) as stream,
    ):
        stream.get_final_message()
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        client.messages.create(model="claude-529", max_tokens=10, messages=USER)
    assert overloaded.value.status_code == 529
