"""An Anthropic Messages request as a chat request, for Anthropic clients on chat upstreams.

Choices where the formats differ:
- a user message's `tool_result` blocks become chat tool messages, in order, before the rest
  of that message; images a tool returned move into that rest (a chat tool message holds only
  text); `is_error` is dropped (the result's text says what failed, and chat has no flag);
- `thinking` and `redacted_thinking` blocks are dropped: chat cannot send them back;
- `output_config.format` (a JSON schema) becomes `response_format` named "output";
  `top_k`, `thinking` and `cache_control` have no chat form and are not sent.
"""

from __future__ import annotations

from typing import Any

from modelport.errors import InvalidInput
from modelport.gateway.translate.fields import (
    Json,
    maybe_bool,
    maybe_count,
    maybe_number,
    maybe_str,
    shown,
    to_json,
    want_id,
    want_list,
    want_object,
    want_str,
)

_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def chat_request_from_messages(request: Json) -> Json:
    """The chat request that serves an Anthropic Messages `request`.

    Raises InvalidInput naming the field for a block chat cannot carry (documents, server
    tools' blocks), a tool_result without tool_use_id, a server tool, or a wrong shape.
    """
    messages = _system(request.get("system"))
    for index, message in enumerate(want_list(request.get("messages"), "messages")):
        where = f"messages[{index}]"
        messages += _turn(want_object(message, where), where)
    chat: Json = {"model": want_str(request.get("model"), "model"), "messages": messages}
    return chat | _settings(request)


def _system(system: Any) -> list[Json]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    blocks = want_list(system, "system")
    parts = [_text(block, f"system[{i}]") for i, block in enumerate(blocks)]
    return [{"role": "system", "content": parts}] if parts else []


def _turn(message: Json, where: str) -> list[Json]:
    role, content = message.get("role"), message.get("content")
    if role not in ("user", "assistant"):
        raise InvalidInput(f"'{where}.role' must be user or assistant.", field=f"{where}.role")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    blocks = [
        want_object(b, f"{where}.content[{i}]")
        for i, b in enumerate(want_list(content, f"{where}.content"))
    ]
    return _user(blocks, where) if role == "user" else _assistant(blocks, where)


def _user(blocks: list[Json], where: str) -> list[Json]:
    """Tool results first, as tool messages; then the rest as one user message."""
    results: list[Json] = []
    parts: list[Json] = []
    for index, block in enumerate(blocks):
        at, kind = f"{where}.content[{index}]", block.get("type")
        if kind == "tool_result":
            results.append(_tool_result(block, at, parts))
        elif kind == "image":
            parts.append(_image(block, at))
        elif kind == "text":
            parts.append(_text(block, at))
        else:
            raise _cannot(kind, at, "text, image or tool_result")
    return results + ([{"role": "user", "content": parts}] if parts else [])


def _assistant(blocks: list[Json], where: str) -> list[Json]:
    parts: list[Json] = []
    calls: list[Json] = []
    for index, block in enumerate(blocks):
        at, kind = f"{where}.content[{index}]", block.get("type")
        if kind == "text":
            parts.append(_text(block, at))
        elif kind == "tool_use":
            calls.append(_tool_call(block, at))
        elif kind not in ("thinking", "redacted_thinking"):
            raise _cannot(kind, at, "text, tool_use or thinking")
    if not parts and not calls:
        return []
    message: Json = {"role": "assistant", "content": parts or None}
    return [message | {"tool_calls": calls} if calls else message]


def _tool_call(block: Json, at: str) -> Json:
    arguments = to_json(want_object(block.get("input"), f"{at}.input"), f"{at}.input")
    return {
        "id": want_id(block.get("id"), f"{at}.id"),
        "type": "function",
        "function": {"name": want_id(block.get("name"), f"{at}.name"), "arguments": arguments},
    }


def _tool_result(block: Json, at: str, images: list[Json]) -> Json:
    """A chat tool message; the images the tool returned are appended to `images`."""
    call_id = want_id(block.get("tool_use_id"), f"{at}.tool_use_id")
    content = block.get("content")
    if content is None or isinstance(content, str):
        return {"role": "tool", "tool_call_id": call_id, "content": content or ""}
    texts: list[Json] = []
    for index, item in enumerate(want_list(content, f"{at}.content")):
        item_at = f"{at}.content[{index}]"
        item = want_object(item, item_at)
        if item.get("type") == "image":
            images.append(_image(item, item_at))
        else:
            texts.append(_text(item, item_at))
    return {"role": "tool", "tool_call_id": call_id, "content": texts or ""}


def _text(block: Any, at: str) -> Json:
    block = want_object(block, at)
    if block.get("type") != "text":
        raise _cannot(block.get("type"), at, "text")
    return {"type": "text", "text": want_str(block.get("text"), f"{at}.text")}


def _image(block: Json, at: str) -> Json:
    source = want_object(block.get("source"), f"{at}.source")
    kind = source.get("type")
    if kind == "base64":
        media = want_id(source.get("media_type"), f"{at}.source.media_type")
        url = f"data:{media};base64,{want_str(source.get('data'), f'{at}.source.data')}"
    elif kind == "url":
        url = want_id(source.get("url"), f"{at}.source.url")
    else:
        raise InvalidInput(
            f"'{at}.source.type' must be base64 or url for this model.", field=f"{at}.source.type"
        )
    return {"type": "image_url", "image_url": {"url": url}}


def _cannot(kind: Any, at: str, allowed: str) -> InvalidInput:
    return InvalidInput(
        f"'{at}.type' is {shown(kind)}: this model takes {allowed} blocks here.", field=f"{at}.type"
    )


def _settings(request: Json) -> Json:
    metadata = request.get("metadata")
    user = None if metadata is None else want_object(metadata, "metadata").get("user_id")
    settings: Json = {
        "max_tokens": maybe_count(request.get("max_tokens"), "max_tokens"),
        "stop": _stops(request.get("stop_sequences")),
        "temperature": maybe_number(request.get("temperature"), "temperature", 1),
        "top_p": maybe_number(request.get("top_p"), "top_p", 1),
        "stream": maybe_bool(request.get("stream"), "stream"),
        "user": maybe_str(user, "metadata.user_id"),
        "response_format": _format(request.get("output_config")),
    }
    if request.get("tools") is not None:
        settings["tools"] = _tools(want_list(request["tools"], "tools"))
    if request.get("tool_choice") is not None:
        settings |= _tool_choice(want_object(request["tool_choice"], "tool_choice"))
    return {key: value for key, value in settings.items() if value is not None}


def _stops(stops: Any) -> list[str] | None:
    if stops is None:
        return None
    return [
        want_str(s, f"stop_sequences[{i}]")
        for i, s in enumerate(want_list(stops, "stop_sequences"))
    ]


def _format(config: Any) -> Json | None:
    given = None if config is None else want_object(config, "output_config").get("format")
    if given is None:
        return None
    schema = want_object(
        want_object(given, "output_config.format").get("schema"), "output_config.format.schema"
    )
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}


def _tools(tools: list[Any]) -> list[Json]:
    """Client tools as chat function tools; InvalidInput for Anthropic's server tools."""
    chat: list[Json] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        tool = want_object(tool, where)
        if tool.get("type") not in (None, "custom"):
            raise InvalidInput(
                f"'{where}.type' is {shown(tool.get('type'))}: this model has no server or "
                "built-in tools; define the tool with a name and an input_schema.",
                field=f"{where}.type",
            )
        function: Json = {
            "name": want_id(tool.get("name"), f"{where}.name"),
            "description": maybe_str(tool.get("description"), f"{where}.description"),
            "parameters": want_object(tool.get("input_schema"), f"{where}.input_schema"),
            "strict": maybe_bool(tool.get("strict"), f"{where}.strict"),
        }
        chat.append(
            {"type": "function", "function": {k: v for k, v in function.items() if v is not None}}
        )
    return chat


def _tool_choice(choice: Json) -> Json:
    """`tool_choice`, and `parallel_tool_calls` from `disable_parallel_tool_use`."""
    kind = choice.get("type")
    if kind == "tool":
        mapped: Any = {
            "type": "function",
            "function": {"name": want_id(choice.get("name"), "tool_choice.name")},
        }
    elif isinstance(kind, str) and kind in _CHOICES:
        mapped = _CHOICES[kind]
    else:
        raise InvalidInput(
            "'tool_choice.type' must be auto, any, tool or none.", field="tool_choice.type"
        )
    serial = maybe_bool(
        choice.get("disable_parallel_tool_use"), "tool_choice.disable_parallel_tool_use"
    )
    return {"tool_choice": mapped, "parallel_tool_calls": None if serial is None else not serial}
