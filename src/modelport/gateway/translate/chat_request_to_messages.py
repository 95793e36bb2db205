"""A chat request as an Anthropic Messages request, for chat clients on Anthropic upstreams.

Choices where the formats differ:
- system and developer messages join `system` in order (a string when there is one text);
- tool messages become `tool_result` blocks of a user turn, placed before that turn's other
  blocks as Anthropic requires; consecutive turns of one role merge into one;
- tool call ids are kept, with any character Anthropic refuses (outside A-Z a-z 0-9 _ -)
  replaced by "_", the same way in `tool_use` and `tool_result`;
- `temperature` above 1 is refused (InvalidInput), not clamped: Anthropic's range is 0 to 1
  and a silently different temperature would be a different request;
- `response_format` json_schema becomes `output_config.format`; json_object, `n` > 1 and
  logprobs have no Anthropic form and are refused; other chat-only settings (penalties,
  seed, logit_bias, reasoning_effort, ...) are not sent.
"""

from __future__ import annotations

import re
from typing import Any

from modelport.errors import InvalidInput
from modelport.gateway.translate.fields import (
    Json,
    get_object,
    maybe_bool,
    maybe_count,
    maybe_number,
    maybe_str,
    object_from_json,
    shown,
    want_id,
    want_list,
    want_object,
    want_str,
)

_NOT_AN_ID = re.compile(r"[^A-Za-z0-9_-]")
_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def messages_request_from_chat(request: Json, *, default_max_tokens: int) -> Json:
    """The Anthropic Messages request that serves a chat `request`.

    `max_tokens` is the request's (max_completion_tokens first), else `default_max_tokens`:
    Anthropic requires one. Raises InvalidInput naming the field for what Anthropic cannot
    express (n > 1, logprobs, json_object, temperature above 1, audio or file parts, tool
    arguments that are not a JSON object) or a wrong shape.
    """
    system: list[Json] = []
    turns: list[Json] = []
    for index, message in enumerate(want_list(request.get("messages"), "messages")):
        where = f"messages[{index}]"
        message = want_object(message, where)
        role = message.get("role")
        if role in ("system", "developer"):
            system += _texts(message.get("content"), where)
        elif role in ("user", "assistant", "tool"):
            _add(
                turns, "assistant" if role == "assistant" else "user", _BLOCKS[role](message, where)
            )
        else:
            raise InvalidInput(
                f"'{where}.role' must be system, developer, user, assistant or tool.",
                field=f"{where}.role",
            )
    for turn in turns:
        turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    anthropic: Json = {"model": want_str(request.get("model"), "model"), "messages": turns}
    if system:
        anthropic["system"] = system[0]["text"] if len(system) == 1 else system
    return anthropic | _settings(request, default_max_tokens)


def _add(turns: list[Json], role: str, blocks: list[Json]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"] += blocks
    else:
        turns.append({"role": role, "content": blocks})


def _texts(content: Any, where: str) -> list[Json]:
    """Text blocks from a chat content (a string or text parts), empty texts left out
    (Anthropic refuses empty text blocks)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for index, part in enumerate(want_list(content, f"{where}.content")):
        at = f"{where}.content[{index}]"
        part = want_object(part, at)
        if part.get("type") not in ("text", "refusal"):
            raise _cannot(part.get("type"), at, "text")
        key = str(part["type"])
        text = want_str(part.get(key), f"{at}.{key}")
        blocks += [{"type": "text", "text": text}] if text else []
    return blocks


def _user(message: Json, where: str) -> list[Json]:
    content = message.get("content")
    if isinstance(content, str):
        return _texts(content, where)
    blocks: list[Json] = []
    for index, part in enumerate(want_list(content, f"{where}.content")):
        at = f"{where}.content[{index}]"
        part = want_object(part, at)
        if part.get("type") == "image_url":
            blocks.append(_image(part, at))
        elif part.get("type") == "text":
            text = want_str(part.get("text"), f"{at}.text")
            blocks += [{"type": "text", "text": text}] if text else []
        else:
            raise _cannot(part.get("type"), at, "text or image_url")
    return blocks


def _assistant(message: Json, where: str) -> list[Json]:
    content = message.get("content")
    blocks = [] if content is None else _texts(content, where)
    calls = message.get("tool_calls")
    if calls is not None:
        for index, call in enumerate(want_list(calls, f"{where}.tool_calls")):
            blocks.append(
                _tool_use(
                    want_object(call, f"{where}.tool_calls[{index}]"),
                    f"{where}.tool_calls[{index}]",
                )
            )
    return blocks


def _tool_use(call: Json, at: str) -> Json:
    function = want_object(call.get("function"), f"{at}.function")
    arguments = want_str(function.get("arguments"), f"{at}.function.arguments")
    given = object_from_json(arguments) if arguments.strip() else {}
    if given is None:
        raise InvalidInput(
            f"'{at}.function.arguments' must be a JSON object: Anthropic models take tool "
            "input as an object.",
            field=f"{at}.function.arguments",
        )
    call_id = _tool_id(call.get("id"), f"{at}.id")
    name = want_id(function.get("name"), f"{at}.function.name")
    return {"type": "tool_use", "id": call_id, "name": name, "input": given}


def _tool(message: Json, where: str) -> list[Json]:
    result: Json = {
        "type": "tool_result",
        "tool_use_id": _tool_id(message.get("tool_call_id"), f"{where}.tool_call_id"),
    }
    content = message.get("content")
    if isinstance(content, str):
        return [result | {"content": content} if content else result]
    blocks = _texts(content, where)
    return [result | {"content": blocks} if blocks else result]


def _tool_id(value: Any, field: str) -> str:
    return _NOT_AN_ID.sub("_", want_id(value, field))


def _image(part: Json, at: str) -> Json:
    given = part.get("image_url")
    url = want_id(given.get("url") if isinstance(given, dict) else given, f"{at}.image_url.url")
    head, sep, data = url.partition(";base64,")
    if sep and head.startswith("data:"):
        return {"type": "image", "source": {"type": "base64", "media_type": head[5:], "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidInput(
        f"'{at}.image_url.url' must be an http(s) URL or a base64 data URL.",
        field=f"{at}.image_url.url",
    )


def _cannot(kind: Any, at: str, allowed: str) -> InvalidInput:
    return InvalidInput(
        f"'{at}.type' is {shown(kind)}: this model takes {allowed} parts here.", field=f"{at}.type"
    )


_BLOCKS = {"user": _user, "assistant": _assistant, "tool": _tool}


def _settings(request: Json, default_max_tokens: int) -> Json:
    _refuse(request)
    user = maybe_str(request.get("user"), "user")
    settings: Json = {
        "max_tokens": maybe_count(request.get("max_completion_tokens"), "max_completion_tokens")
        or maybe_count(request.get("max_tokens"), "max_tokens")
        or default_max_tokens,
        "stop_sequences": _stops(request.get("stop")),
        "temperature": _temperature(request.get("temperature")),
        "top_p": maybe_number(request.get("top_p"), "top_p", 1),
        "stream": maybe_bool(request.get("stream"), "stream"),
        "metadata": {"user_id": user} if user else None,
        "output_config": _format(request.get("response_format")),
    }
    tools = request.get("tools")
    if tools is not None and want_list(tools, "tools"):
        settings["tools"] = [_function(t, f"tools[{i}]") for i, t in enumerate(tools)]
        serial = maybe_bool(request.get("parallel_tool_calls"), "parallel_tool_calls") is False
        settings["tool_choice"] = _tool_choice(request.get("tool_choice"), serial)
    return {key: value for key, value in settings.items() if value is not None}


def _refuse(request: Json) -> None:
    """InvalidInput for the chat settings Anthropic has no way to honour."""
    if request.get("n") not in (None, 1):
        raise InvalidInput(
            "'n' must be 1: Anthropic models give one answer per request.", field="n"
        )
    if request.get("logprobs") not in (None, False) or request.get("top_logprobs") is not None:
        raise InvalidInput(
            "'logprobs' cannot be used: Anthropic models do not return log probabilities.",
            field="logprobs",
        )


def _temperature(value: Any) -> float | int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value <= 2:
        raise InvalidInput(
            "'temperature' above 1 cannot be sent to this model: Anthropic models take 0 to 1.",
            field="temperature",
        )
    return maybe_number(value, "temperature", 1)


def _stops(stop: Any) -> list[str] | None:
    if stop is None or isinstance(stop, str):
        return None if stop is None else [stop]
    return [want_str(s, f"stop[{i}]") for i, s in enumerate(want_list(stop, "stop"))]


def _format(given: Any) -> Json | None:
    """`response_format` as `output_config`: only a JSON schema has an Anthropic form."""
    kind = None if given is None else want_object(given, "response_format").get("type")
    if kind in (None, "text"):
        return None
    if kind != "json_schema":
        raise InvalidInput(
            "'response_format' must be text or json_schema: Anthropic models have no JSON mode "
            "without a schema.",
            field="response_format.type",
        )
    spec = want_object(given.get("json_schema"), "response_format.json_schema")
    schema = want_object(spec.get("schema"), "response_format.json_schema.schema")
    return {"format": {"type": "json_schema", "schema": schema}}


def _function(tool: Any, where: str) -> Json:
    tool = want_object(tool, where)
    if tool.get("type") != "function":
        raise InvalidInput(
            f"'{where}.type' must be function for this model.", field=f"{where}.type"
        )
    function = want_object(tool.get("function"), f"{where}.function")
    parameters = function.get("parameters")
    anthropic: Json = {
        "name": want_id(function.get("name"), f"{where}.function.name"),
        "description": maybe_str(function.get("description"), f"{where}.function.description"),
        "input_schema": {"type": "object", "properties": {}}
        if parameters is None
        else want_object(parameters, f"{where}.function.parameters"),
        "strict": maybe_bool(function.get("strict"), f"{where}.function.strict"),
    }
    return {key: value for key, value in anthropic.items() if value is not None}


def _tool_choice(choice: Any, serial: bool) -> Json | None:
    if choice is None:
        mapped: Json = {"type": "auto"}
    elif isinstance(choice, str) and choice in _CHOICES:
        mapped = dict(_CHOICES[choice])
    elif isinstance(choice, dict) and choice.get("type") == "function":
        name = want_id(get_object(choice, "function").get("name"), "tool_choice.function.name")
        mapped = {"type": "tool", "name": name}
    else:
        raise InvalidInput(
            "'tool_choice' must be auto, none, required or a function.", field="tool_choice"
        )
    if serial and mapped["type"] != "none":
        mapped["disable_parallel_tool_use"] = True
    return None if choice is None and not serial else mapped
