"""Streams between chat and Anthropic's format, both ways, as each SDK assembles them."""

from __future__ import annotations

from typing import Any

from anthropic.types import Message, RawMessageStreamEvent
from hypothesis import given, settings
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import TypeAdapter

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import Event
from modelport.gateway.translate.messages_chat import (
    ChatStreamFromMessages,
    MessagesStreamFromChat,
    chat_from_messages,
    messages_from_chat,
)
from tests.gateway.translate.answers import (
    Answer,
    anthropic_streamed,
    as_completion,
    chunk,
    streamed,
    tool_delta,
)
from tests.gateway.translate.sdks import Replay, chat_calls

TOKENS = Tokens(prompt=2000, completion=150, cached_prompt=1500, cache_write=300)
ANTHROPIC_EVENTS: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)


def tool(index: int, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    return tool_delta(index, arguments, call_id, "read_file")


CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Reading "}),
    chunk({"content": "it."}),
    chunk(tool(0, "", "call_1")),
    chunk(tool(0, '{"path": ')),
    chunk(tool(0, '"setup.py"}')),
    chunk({}, "tool_calls"),
]


def to_anthropic(chunks: list[dict[str, Any]], usage: Tokens | None = TOKENS) -> list[Event]:
    translator = MessagesStreamFromChat(message_id="msg_01", model="claude-x")
    events: list[Event] = []
    for one in chunks:
        events += translator.feed(one)
    return events + translator.finish(usage)


# chat stream -> Anthropic events


def test_a_chat_stream_is_anthropics_event_sequence() -> None:
    events = to_anthropic(CHUNKS)
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for name, payload in events:
        assert payload["type"] == name
        ANTHROPIC_EVENTS.validate_python(payload)
    start = events[0][1]["message"]
    assert (start["id"], start["model"], start["content"], start["usage"]) == (
        "msg_01",
        "claude-x",
        [],
        {"input_tokens": 0, "output_tokens": 0},
    )
    assert events[5][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "read_file",
        "input": {},
    }
    assert events[7][1]["delta"] == {"type": "input_json_delta", "partial_json": '"setup.py"}'}
    assert events[9][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 200,
            "output_tokens": 150,
            "cache_read_input_tokens": 1500,
            "cache_creation_input_tokens": 300,
        },
    }


def test_the_sdk_assembles_the_message_with_usage_from_message_delta(replay: Replay) -> None:
    message = replay.messages(to_anthropic(CHUNKS))
    assert [block.type for block in message.content] == ["text", "tool_use"]
    assert message.content[0].text == "Reading it."  # type: ignore[union-attr]
    assert message.content[1].input == {"path": "setup.py"}  # type: ignore[union-attr]
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (200, 150)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (
        1500,
        300,
    )


def test_a_stream_without_chunks_or_usage_is_still_a_whole_message(replay: Replay) -> None:
    message = replay.messages(to_anthropic([], usage=None))
    assert (message.content, message.stop_reason, message.usage.output_tokens) == (
        [],
        "end_turn",
        0,
    )


def test_a_failure_is_an_anthropic_error_event() -> None:
    translator = MessagesStreamFromChat(message_id="msg_01", model="claude-x")
    assert translator.fail("overloaded_error", "The upstream is overloaded.") == [
        (
            "error",
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "The upstream is overloaded."},
            },
        )
    ]


def test_a_late_piece_of_an_earlier_call_is_dropped(replay: Replay) -> None:
    chunks = [
        chunk(tool(0, '{"a":', "c1")),
        chunk(tool(1, "{}", "c2")),
        chunk(tool(0, "1}")),
        chunk({}, "tool_calls"),
    ]
    message = replay.messages(to_anthropic(chunks))
    assert [block.id for block in message.content] == ["c1", "c2"]  # type: ignore[union-attr]


@settings(max_examples=100, deadline=None)
@given(streamed())
def test_any_chunking_streams_the_message_the_plain_answer_makes(
    replay: Replay, case: tuple[Answer, list[dict[str, Any]]]
) -> None:
    answer, chunks = case
    streamed_ = replay.messages(to_anthropic(chunks))
    plain = messages_from_chat(
        as_completion(answer), message_id="msg_01", model="claude-x", usage=TOKENS
    )
    assert Message.model_validate(
        streamed_.model_dump(exclude_none=True)
    ) == Message.model_validate(plain)


# Anthropic events -> chat chunks

EVENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-x",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 200, "output_tokens": 1, "cache_read_input_tokens": 1500},
            },
        },
    ),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "They want the file."},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "sig"},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("ping", {"type": "ping"}),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "text_delta", "text": "Reading it."},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 2,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "read_file",
                "input": {},
            },
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": '{"path": "set'},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "input_json_delta", "partial_json": 'up.py"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 150},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
]


def to_chunks(
    events: list[tuple[str, dict[str, Any]]], usage: Tokens | None = TOKENS
) -> list[dict[str, Any]]:
    translator = ChatStreamFromMessages(
        completion_id="chatcmpl-9", created=1_760_000_000, model="claude-x"
    )
    chunks: list[dict[str, Any]] = []
    for name, data in events:
        chunks += translator.feed(name, data)
    return chunks + translator.finish(usage)


def test_anthropic_events_are_chat_chunks_the_sdk_accepts() -> None:
    chunks = to_chunks(EVENTS)
    deltas = [c["choices"][0]["delta"] if c["choices"] else None for c in chunks]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"content": "Reading it."},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"path": "set'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": 'up.py"}'}}]},
        {},
        None,
    ]
    assert chunks[5]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"]["prompt_tokens"] == 2000
    for one in chunks:
        ChatCompletionChunk.model_validate(one)
        assert (one["id"], one["object"], one["created"], one["model"]) == (
            "chatcmpl-9",
            "chat.completion.chunk",
            1_760_000_000,
            "claude-x",
        )


def test_the_sdk_assembles_the_completion_and_no_usage_means_no_usage_chunk(replay: Replay) -> None:
    completion = replay.chat(to_chunks(EVENTS, usage=None))
    message = completion.choices[0].message
    assert message.content == "Reading it."
    assert chat_calls(completion) == [("toolu_01", "read_file", {"path": "setup.py"})]
    assert completion.usage is None


def test_error_ping_and_stop_events_make_no_chunks() -> None:
    translator = ChatStreamFromMessages(completion_id="c", created=1, model="m")
    for name in ("ping", "message_stop", "content_block_stop", "error"):
        assert (
            translator.feed(name, {"type": name, "index": 0, "error": {"type": "overloaded_error"}})
            == []
        )


@settings(max_examples=100, deadline=None)
@given(anthropic_streamed())
def test_any_anthropic_stream_makes_the_completion_the_plain_message_makes(
    replay: Replay, case: tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]
) -> None:
    message, events = case
    streamed_ = replay.chat(to_chunks(events))
    plain = ChatCompletion.model_validate(
        chat_from_messages(
            message,
            completion_id="chatcmpl-9",
            created=1_760_000_000,
            model="claude-x",
            usage=TOKENS,
        )
    )
    assert streamed_.choices[0].finish_reason == plain.choices[0].finish_reason
    assert (streamed_.choices[0].message.content or "") == (plain.choices[0].message.content or "")
    assert chat_calls(streamed_) == chat_calls(plain)
    assert streamed_.usage == plain.usage
