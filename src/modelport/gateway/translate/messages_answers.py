"""Answers between chat and Anthropic's Messages format, both ways.

A chat answer's tool call arguments that are not a JSON object become the input {} (an
Anthropic `tool_use` input is always an object; the client's tool then reports what is
missing). Thinking blocks of an Anthropic answer are dropped: chat has no place for them.
"""

from __future__ import annotations

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import (
    Json,
    chat_text,
    first_choice,
    get_list,
    get_object,
    get_str,
    lenient_json,
    object_from_json,
)
from modelport.gateway.translate.stops import anthropic_stop, chat_finish, fallback_tool_id
from modelport.gateway.translate.usage import chat_usage, messages_usage


def messages_from_chat(answer: Json, *, message_id: str, model: str, usage: Tokens | None) -> Json:
    """A chat completion (choice 0) as an Anthropic message: a text block (none when the text
    is empty), then a `tool_use` block per tool call. A refusal counts as text. Never raises:
    answer fields of the wrong type are read as absent."""
    choice = first_choice(answer)
    message = get_object(choice, "message")
    text = chat_text(message.get("content")) or get_str(message, "refusal")
    content: list[Json] = [{"type": "text", "text": text}] if text else []
    calls = [call for call in get_list(message, "tool_calls") if isinstance(call, dict)]
    for position, call in enumerate(calls):
        function = get_object(call, "function")
        block_id = get_str(call, "id") or fallback_tool_id(message_id, position)
        given = object_from_json(get_str(function, "arguments")) or {}
        content.append(
            {"type": "tool_use", "id": block_id, "name": get_str(function, "name"), "input": given}
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": anthropic_stop(choice.get("finish_reason"), bool(calls)),
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0}
        if usage is None
        else messages_usage(usage),
    }


def chat_from_messages(
    answer: Json, *, completion_id: str, created: int, model: str, usage: Tokens | None
) -> Json:
    """An Anthropic message as a `chat.completion`: text blocks joined into `content`,
    `tool_use` blocks as `tool_calls`, thinking dropped, `stop_reason` as `finish_reason`.
    Never raises: answer fields of the wrong type are read as absent."""
    texts: list[str] = []
    calls: list[Json] = []
    for block in get_list(answer, "content"):
        kind = get_str(block, "type")
        if kind == "text":
            texts.append(get_str(block, "text"))
        elif kind == "tool_use":
            arguments = lenient_json(block.get("input", {}))
            function = {"name": get_str(block, "name"), "arguments": arguments}
            calls.append({"id": get_str(block, "id"), "type": "function", "function": function})
    text = "".join(texts)
    message: Json = {"role": "assistant", "content": text if text or not calls else None}
    message["refusal"] = None
    if calls:
        message["tool_calls"] = calls
    finish = chat_finish(answer.get("stop_reason") if isinstance(answer, dict) else None)
    choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": None if usage is None else chat_usage(usage),
    }
