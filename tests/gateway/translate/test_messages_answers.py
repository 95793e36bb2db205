"""Answers between chat and Anthropic's format, both ways, as each SDK parses them."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import Message
from hypothesis import given, settings
from openai.types.chat import ChatCompletion

from modelport.core.pricing import Tokens
from modelport.gateway.translate.messages_chat import chat_from_messages, messages_from_chat
from tests.gateway.translate.answers import (
    ANSWERS,
    STOP_REASONS,
    Answer,
    as_anthropic_message,
    as_completion,
)
from tests.gateway.translate.sdks import chat_calls
from tests.support.openai_reference import openai_schema

TOKENS = Tokens(prompt=2000, completion=150, cached_prompt=1500, cache_write=300)


def completion(
    content: Any, calls: list[dict[str, Any]] | None = None, finish: str = "stop"
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }


def call(call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "read_file", "arguments": arguments},
    }


def to_message(answer: dict[str, Any], usage: Tokens | None = TOKENS) -> dict[str, Any]:
    return messages_from_chat(answer, message_id="msg_01", model="claude-x", usage=usage)


def to_chat(message: dict[str, Any], usage: Tokens | None = TOKENS) -> dict[str, Any]:
    return chat_from_messages(
        message, completion_id="chatcmpl-9", created=1_760_000_000, model="claude-x", usage=usage
    )


# chat answer -> Anthropic message


def test_a_chat_answer_with_a_tool_call_is_an_anthropic_message() -> None:
    body = to_message(
        completion("Reading it.", [call("call_1", '{"path": "setup.py"}')], "tool_calls")
    )
    message = Message.model_validate(body)
    assert body["content"] == [
        {"type": "text", "text": "Reading it."},
        {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"path": "setup.py"}},
    ]
    assert (message.id, message.model, message.role) == ("msg_01", "claude-x", "assistant")
    assert (message.stop_reason, message.stop_sequence) == ("tool_use", None)
    assert message.usage.input_tokens == 200
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (
        1500,
        300,
    )
    assert message.usage.output_tokens == 150


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
    ],
)
def test_finish_reasons_are_stop_reasons(finish: Any, stop: str) -> None:
    assert Message.model_validate(to_message(completion("x", finish=finish))).stop_reason == stop


def test_tool_calls_ending_in_stop_still_end_in_tool_use() -> None:
    assert to_message(completion(None, [call("c", "{}")], "stop"))["stop_reason"] == "tool_use"


@pytest.mark.parametrize("arguments", ["{not json", "[1, 2]", "", "null"])
def test_tool_arguments_that_are_not_a_json_object_become_an_empty_input(arguments: str) -> None:
    body = to_message(completion(None, [call("c", arguments)], "tool_calls"))
    assert body["content"] == [{"type": "tool_use", "id": "c", "name": "read_file", "input": {}}]
    Message.model_validate(body)


def test_an_empty_answer_has_no_blocks_and_unknown_usage_is_zero() -> None:
    body = to_message(completion(""), usage=None)
    assert body["content"] == []
    assert body["usage"] == {"input_tokens": 0, "output_tokens": 0}
    Message.model_validate(body)


def test_an_unnamed_tool_call_gets_a_stable_id() -> None:
    body = to_message(
        completion(None, [{"function": {"name": "f", "arguments": "{}"}}], "tool_calls")
    )
    assert body["content"][0]["id"] == "toolu_msg_01_0"


@settings(max_examples=100, deadline=None)
@given(ANSWERS)
def test_chat_answers_keep_their_text_and_tool_calls_as_anthropic_messages(answer: Answer) -> None:
    message = Message.model_validate(to_message(as_completion(answer)))
    texts = [block.text for block in message.content if block.type == "text"]
    assert "".join(texts) == answer.text
    calls = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    assert calls == [(c.id, c.name, c.arguments) for c in answer.calls]


# Anthropic message -> chat answer

MESSAGE: dict[str, Any] = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-x",
    "content": [
        {"type": "thinking", "thinking": "They want the file.", "signature": "sig"},
        {"type": "text", "text": "Reading "},
        {"type": "text", "text": "it.", "citations": None},
        {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "setup.py"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 200, "output_tokens": 150, "cache_read_input_tokens": 1500},
}


@pytest.mark.reference("openai-openapi")
def test_an_anthropic_message_is_a_chat_completion_the_schema_and_the_sdk_accept() -> None:
    body = to_chat(MESSAGE)
    openai_schema("CreateChatCompletionResponse").validate(body)
    completion_ = ChatCompletion.model_validate(body)
    message = completion_.choices[0].message
    assert message.content == "Reading it."
    assert chat_calls(completion_) == [("toolu_01", "read_file", {"path": "setup.py"})]
    assert completion_.choices[0].finish_reason == "tool_calls"
    assert completion_.usage is not None
    assert (completion_.usage.prompt_tokens, completion_.usage.completion_tokens) == (2000, 150)
    assert (completion_.id, completion_.created, completion_.model) == (
        "chatcmpl-9",
        1_760_000_000,
        "claude-x",
    )


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "stop"),
        (None, "stop"),
    ],
)
def test_stop_reasons_are_finish_reasons(stop: Any, finish: str) -> None:
    body = to_chat(MESSAGE | {"stop_reason": stop})
    assert ChatCompletion.model_validate(body).choices[0].finish_reason == finish


def test_only_tool_use_makes_null_content_and_nothing_makes_empty_content() -> None:
    only_tool = to_chat(MESSAGE | {"content": MESSAGE["content"][3:]})
    assert only_tool["choices"][0]["message"]["content"] is None
    nothing = to_chat(MESSAGE | {"content": [], "stop_reason": "end_turn"}, usage=None)
    assert nothing["choices"][0]["message"] == {"role": "assistant", "content": "", "refusal": None}
    assert nothing["usage"] is None
    ChatCompletion.model_validate(nothing)


@settings(max_examples=100, deadline=None)
@given(ANSWERS, STOP_REASONS)
def test_anthropic_messages_keep_their_text_and_tool_use_as_chat_answers(
    answer: Answer, stop: str
) -> None:
    completion_ = ChatCompletion.model_validate(to_chat(as_anthropic_message(answer, stop)))
    assert (completion_.choices[0].message.content or "") == answer.text
    assert chat_calls(completion_) == [(c.id, c.name, c.arguments) for c in answer.calls]
