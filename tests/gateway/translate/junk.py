"""Near-miss requests for Hypothesis: each format's own shape, any field of it junk.

`near(required, optional)` draws an object with the required keys and some optional ones,
each value plausible or, one time in four, junk (any JSON, drawn from the formats'
vocabulary), so draws get past the first checks and reach deep into the translators. The
model is always a string: the inbound API checks it before any translation.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

Strategy = st.SearchStrategy[Any]

KEYS = [
    "type",
    "role",
    "content",
    "text",
    "id",
    "call_id",
    "name",
    "arguments",
    "output",
    "tool_calls",
    "tool_call_id",
    "function",
    "parameters",
    "tools",
    "tool_choice",
    "system",
    "tool_use_id",
    "input",
    "input_schema",
    "source",
    "media_type",
    "data",
    "url",
    "image_url",
    "detail",
    "max_tokens",
    "temperature",
    "stop",
    "index",
    "delta",
    "choices",
    "message",
    "finish_reason",
    "stop_reason",
    "partial_json",
    "content_block",
    "instructions",
    "messages",
]
WORDS = [
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "function",
    "text",
    "input_text",
    "output_text",
    "refusal",
    "input_image",
    "image",
    "image_url",
    "tool_use",
    "tool_result",
    "thinking",
    "function_call",
    "function_call_output",
    "reasoning",
    "base64",
    "url",
    "auto",
    "any",
    "none",
    "required",
    "json_object",
    "json_schema",
    "stop",
    "length",
    "tool_calls",
    "end_turn",
    "text_delta",
    "input_json_delta",
    "data:image/png;base64,AA",
    "https://x.test/a.png",
    "{}",
    '{"a":1}',
    "[1]",
    "{bad",
]
# Integers as orjson parses them (larger ones it reads as floats): the inbound APIs' parser.
INTEGERS = st.integers(-(2**63), 2**64 - 1)
SCALARS = (
    st.none()
    | st.booleans()
    | INTEGERS
    | st.floats()
    | st.sampled_from(WORDS)
    | st.text(max_size=4)
)
JUNK: Strategy = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), JUNK, max_size=6)


def near(required: dict[str, Any], optional: dict[str, Any] | None = None) -> Strategy:
    """An object of `required` and some `optional` keys; values plausible or junk."""

    def value(plausible: Any) -> Strategy:
        return (
            plausible if isinstance(plausible, st.SearchStrategy) else st.just(plausible)
        ) | JUNK

    return st.fixed_dictionaries(
        {key: value(v) for key, v in required.items()},
        optional={key: value(v) for key, v in (optional or {}).items()},
    )


def request(required: dict[str, Any], optional: dict[str, Any]) -> Strategy:
    return near(required, optional).map(lambda drawn: drawn | {"model": "m"})


def some(*strategies: Strategy) -> Strategy:
    return st.lists(st.one_of(*strategies), max_size=4)


WORD = st.text(max_size=4)
ROLES = st.sampled_from(["system", "developer", "user", "assistant", "tool"])
NUMBERS = st.floats(0, 2) | st.integers(0, 3)

# Anthropic Messages
TEXT_BLOCK = near({"type": "text", "text": WORD})
IMAGE_BLOCK = near(
    {
        "type": "image",
        "source": near(
            {"type": st.sampled_from(["base64", "url"])},
            {"media_type": "image/png", "data": "AA", "url": "https://x.test/a.png"},
        ),
    }
)
TOOL_USE = near({"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}})
TOOL_RESULT = near(
    {"type": "tool_result", "tool_use_id": "t1"},
    {"content": WORD | some(TEXT_BLOCK, IMAGE_BLOCK), "is_error": st.booleans()},
)
THINKING = near({"type": st.sampled_from(["thinking", "redacted_thinking"])})
ANTHROPIC_MESSAGE = near(
    {
        "role": st.sampled_from(["user", "assistant"]),
        "content": WORD | some(TEXT_BLOCK, IMAGE_BLOCK, TOOL_USE, TOOL_RESULT, THINKING),
    }
)
ANTHROPIC_REQUEST = request(
    {"messages": st.lists(ANTHROPIC_MESSAGE, max_size=4)},
    {
        "system": WORD | some(TEXT_BLOCK),
        "max_tokens": st.integers(1, 9),
        "stop_sequences": st.lists(WORD),
        "temperature": NUMBERS,
        "top_p": NUMBERS,
        "stream": st.booleans(),
        "metadata": near({}, {"user_id": WORD}),
        "tools": some(
            near(
                {"name": "f", "input_schema": {"type": "object"}},
                {"type": "custom", "description": WORD, "strict": True},
            )
        ),
        "tool_choice": near(
            {"type": st.sampled_from(["auto", "any", "tool", "none"])},
            {"name": "f", "disable_parallel_tool_use": True},
        ),
        "output_config": near({"format": near({"type": "json_schema", "schema": {}})}),
    },
)

# Chat completions
PART = near(
    {"type": st.sampled_from(["text", "image_url", "refusal"])},
    {"text": WORD, "refusal": WORD, "image_url": near({"url": st.sampled_from(WORDS)})},
)
CALL = near(
    {
        "id": "c1",
        "type": "function",
        "function": near({"name": "f", "arguments": st.sampled_from(WORDS)}),
    }
)
CHAT_MESSAGE = near(
    {"role": ROLES},
    {"content": WORD | some(PART), "tool_calls": st.lists(CALL, max_size=2), "tool_call_id": "c1"},
)
CHAT_REQUEST = request(
    {"messages": st.lists(CHAT_MESSAGE, max_size=4)},
    {
        "max_tokens": st.integers(1, 9),
        "max_completion_tokens": st.integers(1, 9),
        "stop": WORD | st.lists(WORD),
        "temperature": NUMBERS,
        "top_p": NUMBERS,
        "n": st.integers(1, 2),
        "logprobs": st.booleans(),
        "user": WORD,
        "stream": st.booleans(),
        "parallel_tool_calls": st.booleans(),
        "tools": some(
            near(
                {
                    "type": "function",
                    "function": near({"name": "f"}, {"parameters": {}, "description": WORD}),
                }
            )
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"])
        | near({"type": "function", "function": near({"name": "f"})}),
        "response_format": near(
            {"type": st.sampled_from(["text", "json_object", "json_schema"])},
            {"json_schema": near({"schema": {}})},
        ),
    },
)

# Responses
INPUT_PART = near(
    {
        "type": st.sampled_from(
            ["input_text", "output_text", "refusal", "input_image", "input_file"]
        )
    },
    {"text": WORD, "refusal": WORD, "image_url": st.sampled_from(WORDS), "detail": "low"},
)
ITEM = st.one_of(
    near({"role": ROLES, "content": WORD | some(INPUT_PART)}, {"type": "message"}),
    near({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"}),
    near({"type": "function_call_output", "call_id": "c1", "output": WORD | some(INPUT_PART)}),
    near({"type": st.sampled_from(["reasoning", "item_reference", "web_search_call"])}),
)
RESPONSES_REQUEST = request(
    {"input": WORD | st.lists(ITEM, max_size=4)},
    {
        "instructions": WORD,
        "max_output_tokens": st.integers(1, 9),
        "temperature": NUMBERS,
        "top_p": NUMBERS,
        "stream": st.booleans(),
        "user": WORD,
        "safety_identifier": WORD,
        "parallel_tool_calls": st.booleans(),
        "reasoning": near({}, {"effort": "low"}),
        "tools": some(
            near(
                {"type": st.sampled_from(["function", "web_search"]), "name": "f"},
                {"parameters": {}, "strict": True},
            )
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"])
        | near({"type": "function", "name": "f"}),
        "text": near(
            {
                "format": near(
                    {"type": st.sampled_from(["text", "json_object", "json_schema"])},
                    {"name": "n", "schema": {}},
                )
            }
        ),
    },
)
HISTORY = st.lists(ITEM, max_size=3)
