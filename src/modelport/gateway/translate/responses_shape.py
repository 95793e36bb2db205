"""The Response object and its output items, shared by the plain and the streamed answer.

A Response echoes the request's settings beside the output; the echo is normalized to what
OpenAI's schema requires (a function tool always has `description`, `parameters` and
`strict`, possibly null), so the `openai` SDK and the published schema both accept it.
"""

from __future__ import annotations

from typing import Any

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import Json
from modelport.gateway.translate.usage import responses_usage

# How a chat finish reason ends a Response: its status and incomplete_details.
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def ending(finish_reason: str | None) -> tuple[str, Json | None]:
    """The Response `status` and `incomplete_details` for a chat finish reason."""
    reason = _INCOMPLETE.get(finish_reason or "")
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def text_part(text: str) -> Json:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(item_id: str, text: str, refusal: str, status: str) -> Json:
    """An assistant message item: its text (even empty, unless there is only a refusal)."""
    content = [text_part(text)] if text or not refusal else []
    if refusal:
        content.append({"type": "refusal", "refusal": refusal})
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": content,
    }


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> Json:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def response_object(
    *,
    response_id: str,
    created_at: int,
    model: str,
    request: Json,
    status: str,
    output: list[Json],
    usage: Tokens | None,
    error: Json | None = None,
    incomplete: Json | None = None,
    echoed: Json | None = None,
) -> Json:
    """The whole Response: `output` and `usage` beside the echo of `request`'s settings
    (`echoed`, when the caller has already made it: a stream makes the Response twice).

    Unknown usage is left out rather than null: OpenAI's schema has no null `usage`."""
    response = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "error": error,
        "incomplete_details": incomplete,
        "model": model,
        "output": output,
        **(echo(request) if echoed is None else echoed),
    }
    if usage is not None:
        response["usage"] = responses_usage(usage)
    return response


def echo(request: Json) -> Json:
    """The request settings a Response repeats, with OpenAI's defaults where absent."""
    tools = request.get("tools")
    text = request.get("text")
    metadata = request.get("metadata")
    return {
        "instructions": _of(request, "instructions", str),
        "max_output_tokens": _of(request, "max_output_tokens", int),
        "temperature": _of(request, "temperature", (int, float)),
        "top_p": _of(request, "top_p", (int, float)),
        "parallel_tool_calls": _of(request, "parallel_tool_calls", bool, True),
        "previous_response_id": _of(request, "previous_response_id", str),
        "store": _of(request, "store", bool, True),
        "tool_choice": _of(request, "tool_choice", (str, dict), "auto"),
        "tools": [_tool(t) for t in tools if isinstance(t, dict)]
        if isinstance(tools, list)
        else [],
        "text": {"format": {"type": "text"}, **text}
        if isinstance(text, dict)
        else {"format": {"type": "text"}},
        "truncation": "disabled",
        "metadata": metadata if isinstance(metadata, dict) else {},
    }


def _of(request: Json, key: str, kinds: type | tuple[type, ...], default: Any = None) -> Any:
    value = request.get(key)
    return value if isinstance(value, kinds) else default


def _tool(tool: Json) -> Json:
    return {"description": None, "parameters": None, "strict": None, **tool}
