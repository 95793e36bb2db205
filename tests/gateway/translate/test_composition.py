"""Responses clients on Anthropic upstreams: Responses -> chat -> Messages and back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.responses import Response

from modelport.core.pricing import Tokens
from modelport.gateway.translate.messages_chat import (
    ChatStreamFromMessages,
    chat_from_messages,
    messages_request_from_chat,
)
from modelport.gateway.translate.responses_chat import (
    ResponsesStreamFromChat,
    chat_request_from_responses,
    response_from_chat,
)
from tests.gateway.translate.answers import anthropic_streamed
from tests.gateway.translate.conversations import (
    Conversation,
    as_responses,
    conversations,
    meaning,
    messages_atoms,
)
from tests.gateway.translate.sdks import Replay, counter
from tests.support.openai_reference import openai_schema

TOKENS = Tokens(prompt=900, completion=40, cached_prompt=800, cache_write=50)
READ = {
    "type": "function",
    "name": "read_file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
}


def anthropic_request(request: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    return messages_request_from_chat(
        chat_request_from_responses(request, history), default_max_tokens=8192
    )


def responses_answer(message: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    chat = chat_from_messages(
        message, completion_id="chatcmpl-1", created=1, model="claude-x", usage=TOKENS
    )
    return response_from_chat(
        chat,
        response_id="resp_2",
        created_at=1,
        model="claude-x",
        request=request,
        usage=TOKENS,
        item_ids=counter(),
    )


@pytest.mark.reference("openai-openapi")
def test_a_tool_round_trip_over_two_turns_keeps_the_ids_anthropic_made() -> None:
    first = {
        "model": "claude-x",
        "input": "Show me setup.py",
        "instructions": "Be brief.",
        "tools": [READ],
    }
    sent = anthropic_request(first, [])
    assert sent["system"] == "Be brief."
    assert sent["tools"] == [{"name": "read_file", "input_schema": READ["parameters"]}]
    assert sent["max_tokens"] == 8192
    answer = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {
                "type": "tool_use",
                "id": "toolu_01A",
                "name": "read_file",
                "input": {"path": "setup.py"},
            }
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 50, "output_tokens": 40},
    }
    response = responses_answer(answer, first)
    openai_schema("Response").validate(response)
    (call,) = Response.model_validate(response).output
    assert call.type == "function_call"
    assert call.call_id == "toolu_01A"

    history = [{"role": "user", "content": "Show me setup.py"}, *response["output"]]
    second = {
        "model": "claude-x",
        "input": [
            {"type": "function_call_output", "call_id": "toolu_01A", "output": "import setuptools"}
        ],
        "tools": [READ],
    }
    sent = anthropic_request(second, history)
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Show me setup.py"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_01A",
                    "name": "read_file",
                    "input": {"path": "setup.py"},
                }
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "import setuptools"}
            ],
        },
    ]


@settings(max_examples=100, deadline=None)
@given(conversations(), st.integers(0, 5))
def test_a_responses_conversation_reaches_an_anthropic_upstream_intact(
    conversation: Conversation, split: int
) -> None:
    request, history = as_responses(conversation, split)
    assert messages_atoms(anthropic_request(request, history)) == meaning(conversation)


@settings(max_examples=100, deadline=None)
@given(anthropic_streamed())
def test_an_anthropic_stream_reaches_a_responses_client_as_the_plain_answer_would(
    replay: Replay, case: tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]
) -> None:
    message, events = case
    request = {"model": "claude-x", "input": "x", "stream": True}
    chat = ChatStreamFromMessages(completion_id="chatcmpl-1", created=1, model="claude-x")
    responses = ResponsesStreamFromChat(
        response_id="resp_2", created_at=1, model="claude-x", request=request, item_ids=counter()
    )
    out = responses.start()
    for name, data in events:
        for chunk in chat.feed(name, data):
            out += responses.feed(chunk)
    for chunk in chat.finish(TOKENS):
        out += responses.feed(chunk)
    out += responses.finish(TOKENS)
    final = replay.responses(out)
    plain = Response.model_validate(responses_answer(message, request))
    assert parsed_arguments(final) == parsed_arguments(plain)


def parsed_arguments(response: Response) -> dict[str, Any]:
    """`response` as a dict, tool arguments as JSON values: the stream passes Anthropic's own
    JSON text through while the plain answer writes the input anew, spaced differently."""
    dump = response.model_dump(exclude_none=True)
    for item in dump["output"]:
        if item["type"] == "function_call":
            item["arguments"] = json.loads(item["arguments"])
    return dump
