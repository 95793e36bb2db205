"""Anthropic Messages requests as chat requests, and chat requests as Messages requests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelport.errors import InvalidInput
from modelport.gateway.translate.messages_chat import (
    chat_request_from_messages,
    messages_request_from_chat,
)
from tests.gateway.translate.conversations import (
    Conversation,
    as_chat,
    as_messages,
    chat_atoms,
    conversations,
    meaning,
    messages_atoms,
)

PNG = "iVBORw0KGgoAAAANSUhEUg=="
READ = {
    "name": "read_file",
    "description": "Read a file.",
    "input_schema": {
        "type": "object",
        "properties": {"path": {"type": "string"}},
        "required": ["path"],
    },
}


def to_chat(**request: Any) -> dict[str, Any]:
    return chat_request_from_messages({"model": "claude", "max_tokens": 1024} | request)


def to_messages(**request: Any) -> dict[str, Any]:
    return messages_request_from_chat({"model": "claude"} | request, default_max_tokens=4096)


# Anthropic -> chat


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("You are terse.", [{"role": "system", "content": "You are terse."}]),
        (
            [
                {"type": "text", "text": "You are terse."},
                {"type": "text", "text": "Use metric.", "cache_control": {"type": "ephemeral"}},
            ],
            [
                {
                    "role": "system",
                    "content": [
                        {"type": "text", "text": "You are terse."},
                        {"type": "text", "text": "Use metric."},
                    ],
                }
            ],
        ),
        ("", []),
        ([], []),
    ],
)
def test_system_as_a_string_or_as_blocks_leads_the_chat(system: Any, expected: list[Any]) -> None:
    chat = to_chat(system=system, messages=[{"role": "user", "content": "Hi"}])
    assert chat["messages"] == [*expected, {"role": "user", "content": "Hi"}]


def test_a_tool_round_trip_becomes_tool_calls_and_tool_messages() -> None:
    messages = [
        {"role": "user", "content": "Show me setup.py"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "The user wants the file.", "signature": "sig"},
                {"type": "text", "text": "Reading it."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "read_file",
                    "input": {"path": "setup.py"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": "import setuptools",
                    "is_error": False,
                },
                {"type": "text", "text": "Explain it."},
            ],
        },
    ]
    chat = to_chat(messages=messages, tools=[READ])
    assert chat["messages"] == [
        {"role": "user", "content": "Show me setup.py"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Reading it."}],
            "tool_calls": [
                {
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path":"setup.py"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_01", "content": "import setuptools"},
        {"role": "user", "content": [{"type": "text", "text": "Explain it."}]},
    ]
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file.",
                "parameters": READ["input_schema"],
            },
        }
    ]


@pytest.mark.parametrize("empty", [{}, {"content": ""}, {"content": []}])
def test_an_empty_tool_result_is_an_empty_tool_message(empty: dict[str, Any]) -> None:
    result = {"type": "tool_result", "tool_use_id": "toolu_01"} | empty
    chat = to_chat(messages=[{"role": "user", "content": [result]}])
    assert chat["messages"] == [{"role": "tool", "tool_call_id": "toolu_01", "content": ""}]


def test_an_error_result_keeps_its_text_and_drops_the_flag() -> None:
    result = {
        "type": "tool_result",
        "tool_use_id": "t1",
        "content": "No such file",
        "is_error": True,
    }
    chat = to_chat(messages=[{"role": "user", "content": [result]}])
    assert chat["messages"] == [{"role": "tool", "tool_call_id": "t1", "content": "No such file"}]


def test_images_are_image_url_parts_and_a_tools_images_follow_its_result() -> None:
    content = [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": [
                {"type": "text", "text": "Screenshot taken."},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                },
            ],
        },
        {"type": "image", "source": {"type": "url", "url": "https://img.test/cat.jpg"}},
        {"type": "text", "text": "Compare them."},
    ]
    chat = to_chat(messages=[{"role": "user", "content": content}])
    assert chat["messages"] == [
        {
            "role": "tool",
            "tool_call_id": "t1",
            "content": [{"type": "text", "text": "Screenshot taken."}],
        },
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://img.test/cat.jpg"}},
                {"type": "text", "text": "Compare them."},
            ],
        },
    ]


def test_an_assistant_turn_of_only_thinking_is_dropped() -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "xyz"}]},
        {"role": "user", "content": "Still there?"},
    ]
    assert [m["role"] for m in to_chat(messages=messages)["messages"]] == ["user", "user"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"stop_sequences": ["\n\nHuman:"]}, {"stop": ["\n\nHuman:"]}),
        ({"temperature": 0.5, "top_p": 0.9, "top_k": 40}, {"temperature": 0.5, "top_p": 0.9}),
        ({"metadata": {"user_id": "u-1"}}, {"user": "u-1"}),
        ({"stream": True}, {"stream": True}),
        ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, {}),
        ({"tool_choice": {"type": "auto"}}, {"tool_choice": "auto"}),
        ({"tool_choice": {"type": "any"}}, {"tool_choice": "required"}),
        ({"tool_choice": {"type": "none"}}, {"tool_choice": "none"}),
        (
            {
                "tool_choice": {
                    "type": "tool",
                    "name": "read_file",
                    "disable_parallel_tool_use": True,
                }
            },
            {
                "tool_choice": {"type": "function", "function": {"name": "read_file"}},
                "parallel_tool_calls": False,
            },
        ),
        (
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": {"type": "object"}},
                }
            },
        ),
    ],
)
def test_anthropic_settings_map_to_their_chat_names(
    extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    chat = to_chat(messages=[{"role": "user", "content": "Hi"}], **extra)
    settings_ = {key: value for key, value in chat.items() if key not in ("model", "messages")}
    assert settings_ == {"max_tokens": 1024} | expected


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "text", "data": "x"}}],
                    }
                ]
            },
            "messages[0].content[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]},
            "messages[0].content[0].tool_use_id",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}],
                    }
                ]
            },
            "messages[0].content[0].source.type",
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": [{"type": "server_tool_use", "id": "s"}]}
                ]
            },
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": [1]}],
                    }
                ]
            },
            "messages[0].content[0].input",
        ),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            },
            "tools[0].type",
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "sometimes"}},
            "tool_choice.type",
        ),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": 1.5}, "temperature"),
        (
            {"messages": [{"role": "user", "content": "x"}], "system": [{"type": "image"}]},
            "system[0].type",
        ),
        ({"messages": "x"}, "messages"),
    ],
)
def test_what_chat_cannot_carry_is_refused_naming_the_field(
    request_: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        to_chat(**request_)
    assert refused.value.field == field


# chat -> Anthropic


def test_system_and_developer_messages_join_the_system_prompt_in_order() -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hi"},
        {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
    ]
    request = to_messages(messages=messages)
    assert request["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Use metric."},
    ]
    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    assert to_messages(messages=messages[:2])["system"] == "You are terse."


def test_tool_messages_become_one_user_turn_of_results_before_its_text() -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_b", "content": ""},
        {"role": "user", "content": "Which is warmer?"},
    ]
    request = to_messages(messages=messages)
    assert request["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_a",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_b"},
                {"type": "text", "text": "Which is warmer?"},
            ],
        },
    ]


def test_a_tool_result_after_user_text_still_comes_first() -> None:
    messages = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "user", "content": "Here:"},
        {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "done"}]},
    ]
    user = to_messages(messages=messages)["messages"][1]
    assert [block["type"] for block in user["content"]] == ["tool_result", "text"]
    assert user["content"][0]["content"] == [{"type": "text", "text": "done"}]


def test_tool_call_ids_lose_the_characters_anthropic_refuses_the_same_way_both_places() -> None:
    messages = [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "functions.get_weather:0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "18C"},
    ]
    assistant, user = to_messages(messages=messages)["messages"]
    assert (
        assistant["content"][0]["id"]
        == user["content"][0]["tool_use_id"]
        == "functions_get_weather_0"
    )


def test_images_become_base64_or_url_sources() -> None:
    content = [
        {"type": "text", "text": "What are these?"},
        {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"},
        },
        {"type": "image_url", "image_url": {"url": "https://img.test/cat.jpg"}},
    ]
    request = to_messages(messages=[{"role": "user", "content": content}])
    assert request["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://img.test/cat.jpg"}},
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, {"max_tokens": 4096}),
        ({"max_tokens": 100}, {"max_tokens": 100}),
        ({"max_tokens": 100, "max_completion_tokens": 50}, {"max_tokens": 50}),
        ({"stop": "END"}, {"stop_sequences": ["END"]}),
        ({"stop": ["END", "STOP"]}, {"stop_sequences": ["END", "STOP"]}),
        ({"temperature": 1, "top_p": 0.5}, {"temperature": 1, "top_p": 0.5}),
        ({"user": "u-1", "stream": True}, {"metadata": {"user_id": "u-1"}, "stream": True}),
        ({"n": 1, "logprobs": False, "seed": 7, "presence_penalty": 0.5}, {}),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "city", "schema": {"type": "object"}},
                }
            },
            {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
        ),
        ({"response_format": {"type": "text"}}, {}),
    ],
)
def test_chat_settings_map_to_their_anthropic_names(
    extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    request = to_messages(messages=[{"role": "user", "content": "Hi"}], **extra)
    settings_ = {key: value for key, value in request.items() if key not in ("model", "messages")}
    assert settings_ == {"max_tokens": 4096} | expected


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {"type": "object"},
    },
}


@pytest.mark.parametrize(
    ("extra", "choice"),
    [
        ({}, None),
        ({"tool_choice": "auto"}, {"type": "auto"}),
        ({"tool_choice": "required"}, {"type": "any"}),
        ({"tool_choice": "none", "parallel_tool_calls": False}, {"type": "none"}),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
            {"type": "tool", "name": "get_weather"},
        ),
    ],
)
def test_tools_and_tool_choice_map_to_anthropics(extra: dict[str, Any], choice: Any) -> None:
    request = to_messages(messages=[{"role": "user", "content": "Hi"}], tools=[WEATHER], **extra)
    assert request["tools"] == [
        {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object"}}
    ]
    assert request.get("tool_choice") == choice


def test_a_tool_without_parameters_takes_an_empty_object() -> None:
    request = to_messages(
        messages=[{"role": "user", "content": "Hi"}],
        tools=[{"type": "function", "function": {"name": "now"}}],
    )
    assert request["tools"] == [
        {"name": "now", "input_schema": {"type": "object", "properties": {}}}
    ]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"top_logprobs": 3}, "logprobs"),
        ({"response_format": {"type": "json_object"}}, "response_format.type"),
        ({"temperature": 1.5}, "temperature"),
        ({"temperature": -1}, "temperature"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}
                ]
            },
            "messages[0].content[0].type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}],
                    }
                ]
            },
            "messages[0].content[0].image_url.url",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "function": {"name": "f", "arguments": "{not json"}}
                        ],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "function": {"name": "f", "arguments": "[1, 2]"}}
                        ],
                    }
                ]
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools[0].type"),
    ],
)
def test_what_anthropic_cannot_express_is_refused_naming_the_field(
    extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        to_messages(**({"messages": [{"role": "user", "content": "Hi"}]} | extra))
    assert refused.value.field == field


def test_empty_texts_are_left_out_as_anthropic_refuses_them() -> None:
    messages = [
        {"role": "system", "content": ""},
        {"role": "user", "content": [{"type": "text", "text": ""}, {"type": "text", "text": "Hi"}]},
        {"role": "assistant", "content": ""},
    ]
    request = to_messages(messages=messages)
    assert "system" not in request
    assert request["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


# Both ways


@settings(max_examples=100, deadline=None)
@given(conversations())
def test_messages_to_chat_and_back_keeps_the_conversation(conversation: Conversation) -> None:
    request = as_messages(conversation)
    chat = chat_request_from_messages(request)
    back = messages_request_from_chat(chat, default_max_tokens=1)
    assert (
        messages_atoms(request) == chat_atoms(chat) == messages_atoms(back) == meaning(conversation)
    )
    assert back["max_tokens"] == request["max_tokens"]


@settings(max_examples=100, deadline=None)
@given(conversations(), st.booleans())
def test_chat_to_messages_and_back_keeps_the_conversation(
    conversation: Conversation, parts: bool
) -> None:
    chat = as_chat(conversation, parts=parts)
    request = messages_request_from_chat(chat, default_max_tokens=512)
    back = chat_request_from_messages(request)
    assert chat_atoms(chat) == messages_atoms(request) == chat_atoms(back) == meaning(conversation)
    roles = [turn["role"] for turn in request["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles)), "same-role turns are merged"
