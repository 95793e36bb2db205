"""Responses requests as chat requests: items, history, tools and settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelport.errors import InvalidInput
from modelport.gateway.translate.responses_chat import chat_request_from_responses
from tests.gateway.translate.conversations import (
    Conversation,
    as_responses,
    chat_atoms,
    conversations,
    meaning,
    responses_atoms,
)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def test_a_string_input_is_a_user_message_after_the_instructions() -> None:
    chat = chat_request_from_responses(
        {"model": "m", "input": "Hello", "instructions": "Be brief.", "stream": True}, []
    )
    assert chat == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello"},
        ],
        "stream": True,
    }


def test_history_comes_after_the_instructions_and_before_the_input() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "My name is Ada."},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Hello Ada.", "annotations": []}],
        },
    ]
    chat = chat_request_from_responses(
        {"model": "m", "input": "What is my name?", "instructions": "Answer in English."}, history
    )
    assert chat["messages"] == [
        {"role": "system", "content": "Answer in English."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello Ada."}]},
        {"role": "user", "content": "What is my name?"},
    ]


def test_function_calls_of_one_turn_are_one_assistant_message_and_outputs_tool_messages() -> None:
    items = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Checking."}],
        },
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "function_call",
            "call_id": "call_a",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {
            "type": "function_call",
            "call_id": "call_b",
            "name": "get_weather",
            "arguments": '{"city":"Rome"}',
        },
        {"type": "function_call_output", "call_id": "call_a", "output": "18C"},
        {
            "type": "function_call_output",
            "call_id": "call_b",
            "output": [{"type": "input_text", "text": "21C"}],
        },
    ]
    chat = chat_request_from_responses({"model": "m", "input": items, "tools": [WEATHER]}, [])
    assert chat["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Checking."}],
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "21C"}]},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": WEATHER["parameters"],
            },
        }
    ]


def test_a_function_call_with_no_message_before_it_opens_an_assistant_message() -> None:
    items = [
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": ""},
    ]
    chat = chat_request_from_responses({"model": "m", "input": items}, [])
    assert chat["messages"] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": ""},
    ]


def test_developer_messages_are_system_messages_and_images_image_url_parts() -> None:
    items = [
        {"type": "message", "role": "developer", "content": "Describe images."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://img.test/cat.png", "detail": "low"},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
            ],
        },
    ]
    chat = chat_request_from_responses({"model": "m", "input": items}, [])
    assert chat["messages"] == [
        {"role": "system", "content": "Describe images."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://img.test/cat.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"max_output_tokens": 256}, {"max_tokens": 256}),
        ({"temperature": 0.2, "top_p": 0.9}, {"temperature": 0.2, "top_p": 0.9}),
        ({"parallel_tool_calls": False}, {"parallel_tool_calls": False}),
        ({"safety_identifier": "u-1", "user": "old"}, {"user": "u-1"}),
        ({"user": "u-2"}, {"user": "u-2"}),
        ({"reasoning": {"effort": "low"}}, {"reasoning_effort": "low"}),
        ({"tool_choice": "required"}, {"tool_choice": "required"}),
        (
            {"tool_choice": {"type": "function", "name": "get_weather"}},
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        ),
        ({"text": {"format": {"type": "text"}}}, {}),
        (
            {"text": {"format": {"type": "json_object"}}},
            {"response_format": {"type": "json_object"}},
        ),
        (
            {
                "text": {
                    "format": {
                        "type": "json_schema",
                        "name": "city",
                        "schema": {"type": "object"},
                        "strict": True,
                    }
                }
            },
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True},
                }
            },
        ),
        ({"metadata": {"k": "v"}, "store": False, "previous_response_id": "resp_1"}, {}),
    ],
)
def test_settings_map_to_their_chat_names(extra: dict[str, Any], expected: dict[str, Any]) -> None:
    chat = chat_request_from_responses({"model": "m", "input": "hi"} | extra, [])
    settings_ = {key: value for key, value in chat.items() if key not in ("model", "messages")}
    assert settings_ == expected
    assert "stream_options" not in chat


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "hi", "tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"input": [{"type": "computer_call", "id": "cu_1"}]}, "input[0].type"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
            "input[0].content[0].type",
        ),
        (
            {
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}
                ]
            },
            "input[0].content[0].image_url",
        ),
        (
            {
                "input": [
                    {
                        "role": "assistant",
                        "content": [{"type": "input_image", "image_url": "https://x"}],
                    }
                ]
            },
            "input[0].content[0].type",
        ),
        ({"input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input[0].arguments"),
        ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"input": [{"role": "user", "content": 7}]}, "input[0].content"),
        ({"input": 7}, "input"),
        ({"input": "hi", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"input": "hi", "temperature": 3}, "temperature"),
        ({"input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
    ],
)
def test_what_chat_cannot_express_is_refused_naming_the_field(
    request_: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        chat_request_from_responses({"model": "m"} | request_, [])
    assert refused.value.field == field


def test_a_bad_stored_item_is_named_as_the_previous_response() -> None:
    with pytest.raises(InvalidInput) as refused:
        chat_request_from_responses({"model": "m", "input": "hi"}, [{"type": "web_search_call"}])
    assert refused.value.field == "previous_response_id[0].type"


@settings(max_examples=100, deadline=None)
@given(conversations(), st.integers(0, 6))
def test_responses_items_keep_their_meaning_in_chat(conversation: Conversation, split: int) -> None:
    request, history = as_responses(conversation, split)
    chat = chat_request_from_responses(request, history)
    assert chat_atoms(chat) == responses_atoms(request, history) == meaning(conversation)
    json.dumps(chat)
