"""The fake OpenAI-compatible upstream answers as OpenAI does: the official SDK, pointed at it
directly (no hub), accepts its answers, and they parse strictly as the SDK's own types."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionToolParam
from openai.types.completion_usage import CompletionUsage
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from tests.support.fake_server import TOOL_ARGUMENTS, TOOL_RESULT_PREFIX
from tests.support.openai_responses import FUNCTION_CALL_ID
from tests.support.upstream import (
    CACHED_TOKENS,
    COMPLETION_TOKENS,
    CREDENTIAL,
    PROMPT_TOKENS,
    REASONING_TOKENS,
    TOOL_CALL_ID,
    FakeUpstream,
)

TOOLS: list[ChatCompletionToolParam] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
RESPONSE_TOOLS: list[Any] = [
    {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
]
USER: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


@pytest.fixture
def client(upstream: FakeUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=upstream.url, api_key=CREDENTIAL, max_retries=0)


def _events(raw: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, data) of each event of a stream framed with LF line ends."""
    found = []
    for block in raw.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields and fields["data"] != "[DONE]":
            found.append((fields.get("event"), json.loads(fields["data"])))
    return found


@pytest.mark.parametrize("stream", [False, True])
def test_cached_and_reasoning_tokens(client: openai.OpenAI, stream: bool) -> None:
    usage: CompletionUsage | None
    if stream:
        chunks = client.chat.completions.create(
            model="fake-cached", messages=USER, stream=True, stream_options={"include_usage": True}
        )
        usage = next(chunk.usage for chunk in chunks if chunk.usage)
    else:
        usage = client.chat.completions.create(model="fake-cached", messages=USER).usage
    assert usage is not None
    assert usage.prompt_tokens_details is not None
    assert usage.completion_tokens_details is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert usage.prompt_tokens_details.cached_tokens == CACHED_TOKENS
    assert usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS


def test_tool_call_round_trip(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    """A call of the first tool, then an answer quoting the tool's result."""
    called = client.chat.completions.create(model="fake-chat", messages=USER, tools=TOOLS)
    choice = called.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.id == TOOL_CALL_ID
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == TOOL_ARGUMENTS
    history: list[Any] = [
        *USER,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "22 degrees"},
    ]
    answered = client.chat.completions.create(model="fake-chat", messages=history, tools=TOOLS)
    assert answered.choices[0].message.content == TOOL_RESULT_PREFIX + "22 degrees"
    assert upstream.seen.sent_to("/v1/chat/completions")[-1]["messages"] == history


def test_streamed_tool_call(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="fake-chat", messages=USER, tools=TOOLS, stream=True)
    )
    calls = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert calls[0].id == TOOL_CALL_ID
    assert calls[0].function is not None
    assert calls[0].function.name == "get_weather"
    pieces = [call.function.arguments or "" for call in calls[1:] if call.function]
    assert len(pieces) > 2
    assert json.loads("".join(pieces)) == TOOL_ARGUMENTS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("style", "marker"),
    [
        ("sse-event", b"\nevent: message\n"),
        ("sse-crlf", b"\r\n\r\n"),
        ("sse-cr", b"\r\r"),
        ("sse-multiline", b'\ndata:   "object": "chat.completion.chunk",\n'),
        ("sse-split", b"data: "),
    ],
)
def test_stream_framings(
    client: openai.OpenAI, upstream: FakeUpstream, style: str, marker: bytes
) -> None:
    """Each framing is what it says, and a standard decoder still reads the exact usage."""
    body: dict[str, Any] = {"model": f"fake-{style}", "messages": USER, "stream": True}
    body["stream_options"] = {"include_usage": True}
    headers = {"Authorization": f"Bearer {CREDENTIAL}"}
    raw = httpx.post(upstream.url + "/chat/completions", json=body, headers=headers).content
    assert marker in raw
    chunks = list(client.chat.completions.create(**body))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "tok " * 7
    assert [c.usage.total_tokens for c in chunks if c.usage] == [PROMPT_TOKENS + COMPLETION_TOKENS]


def test_responses_plain(client: openai.OpenAI, upstream: FakeUpstream) -> None:
    """Text, a function call, and an answer to the call's output, each a valid Response."""
    headers = {"Authorization": f"Bearer {CREDENTIAL}"}
    body = {"model": "fake-cached", "input": "hello", "instructions": "Be brief."}
    raw = httpx.post(upstream.url + "/responses", json=body, headers=headers)
    said = Response.model_validate(raw.json())
    assert said.output_text == "tok " * COMPLETION_TOKENS
    assert said.usage is not None
    assert (said.usage.input_tokens, said.usage.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
    assert said.usage.input_tokens_details.cached_tokens == CACHED_TOKENS
    assert said.usage.output_tokens_details.reasoning_tokens == REASONING_TOKENS
    called = client.responses.create(model="fake-chat", input=USER, tools=RESPONSE_TOOLS)
    call = called.output[0]
    assert call.type == "function_call"
    assert call.call_id == TOOL_CALL_ID
    assert (call.name, json.loads(call.arguments)) == ("get_weather", TOOL_ARGUMENTS)
    output = {"type": "function_call_output", "call_id": call.call_id, "output": "22 degrees"}
    items: list[Any] = [*USER, call.model_dump(exclude_none=True), output]
    answered = client.responses.create(model="fake-chat", input=items)
    assert answered.output_text == TOOL_RESULT_PREFIX + "22 degrees"
    assert upstream.seen.paths[-1] == "/v1/responses"
    assert upstream.seen.bodies[-1]["input"][-1] == output


@pytest.mark.parametrize("tools", [None, RESPONSE_TOOLS])
def test_responses_stream(client: openai.OpenAI, upstream: FakeUpstream, tools: Any) -> None:
    """OpenAI's event sequence, each event named on its `event:` line and numbered in order."""
    body: dict[str, Any] = {"model": "fake-chat", "input": USER, "stream": True}
    if tools:
        body["tools"] = tools
    headers = {"Authorization": f"Bearer {CREDENTIAL}"}
    framed = _events(httpx.post(upstream.url + "/responses", json=body, headers=headers).content)
    assert all(name == data["type"] for name, data in framed)
    events = [EVENTS.validate_python(data) for _, data in framed]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    kinds = [event.type for event in events]
    middle = "function_call_arguments" if tools else "output_text"
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert kinds.count(f"response.{middle}.delta") > 2
    assert kinds[-1] == "response.completed"
    final = events[-1].response
    assert final.usage.total_tokens == PROMPT_TOKENS + COMPLETION_TOKENS
    assert (final.output[0].id == FUNCTION_CALL_ID) == bool(tools)
    with client.responses.stream(model="fake-chat", input="hello") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        assert text == stream.get_final_response().output_text == "tok " * COMPLETION_TOKENS


def test_responses_keep_no_conversations(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="resp_elsewhere"):
        client.responses.create(
            model="fake-chat", input="hi", previous_response_id="resp_elsewhere"
        )


def test_upstream_failures_echo_the_credential(
    client: openai.OpenAI, upstream: FakeUpstream
) -> None:
    """The leaks a hub must stop: an error event mid-stream, and a 200 that is not JSON."""
    with pytest.raises(openai.APIError, match=CREDENTIAL):
        list(client.chat.completions.create(model="fake-errorevent", messages=USER, stream=True))
    headers = {"Authorization": f"Bearer {CREDENTIAL}"}
    body = {"model": "fake-notjson", "messages": USER}
    page = httpx.post(upstream.url + "/chat/completions", json=body, headers=headers)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert CREDENTIAL in page.text


@pytest.mark.parametrize("model", ["fake-chat", "fake-cached"])
@pytest.mark.parametrize("tools", [None, TOOLS])
def test_chat_answers_parse_strictly(upstream: FakeUpstream, model: str, tools: Any) -> None:
    """Plain answers and every chunk of a stream are valid as the SDK's own types."""
    body: dict[str, Any] = {"model": model, "messages": USER}
    if tools:
        body["tools"] = tools
    headers = {"Authorization": f"Bearer {CREDENTIAL}"}
    plain = httpx.post(upstream.url + "/chat/completions", json=body, headers=headers).json()
    assert ChatCompletion.model_validate(plain).usage is not None
    body.update(stream=True, stream_options={"include_usage": True})
    raw = httpx.post(upstream.url + "/chat/completions", json=body, headers=headers).content
    chunks = [ChatCompletionChunk.model_validate(data) for _, data in _events(raw)]
    assert chunks[-1].usage is not None
