"""Responses input items as chat messages: the conversation half of a Responses request.

Items map one to one, with two merges that chat needs: the `function_call` items the model
made in one turn become the `tool_calls` of one assistant message (joined to the assistant
message just before them, if any), and `reasoning` items are dropped (chat cannot send
them back). `developer` messages become `system` ones, which every chat upstream accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelport.errors import InvalidInput
from modelport.gateway.translate.fields import (
    Json,
    shown,
    want_id,
    want_list,
    want_object,
    want_str,
)

ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
# The text-like parts chat takes as text, and where each keeps its text. A refusal the model
# made in an earlier turn goes back as what it said.
TEXT_KEYS = {"input_text": "text", "output_text": "text", "text": "text", "refusal": "refusal"}


def chat_messages(items: list[Any], field: str, into: list[Json]) -> None:
    """Append the chat form of Responses `items` to `into`.

    Raises InvalidInput naming the item (`{field}[i]...`) for an unknown item or part type,
    a built-in tool's call, a file input or a wrong shape.
    """
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        item = want_object(item, where)
        kind = item.get("type", "message")
        add = _ITEMS.get(kind) if isinstance(kind, str) else None
        if add is None:
            raise InvalidInput(
                f"'{where}.type' is {shown(kind)}: only message, function_call, "
                "function_call_output and reasoning items can be sent to this model.",
                field=f"{where}.type",
            )
        add(item, where, into)


def _message(item: Json, where: str, into: list[Json]) -> None:
    given = item.get("role")
    role = ROLES.get(given) if isinstance(given, str) else None
    if role is None:
        raise InvalidInput(
            f"'{where}.role' must be one of user, assistant, system or developer.",
            field=f"{where}.role",
        )
    content = item.get("content")
    if isinstance(content, str):
        into.append({"role": role, "content": content})
        return
    parts = want_list(content, f"{where}.content")
    into.append(
        {
            "role": role,
            "content": [_part(p, role, f"{where}.content[{i}]") for i, p in enumerate(parts)],
        }
    )


def _part(part: Any, role: str, where: str) -> Json:
    part = want_object(part, where)
    kind = part.get("type")
    if isinstance(kind, str) and kind in TEXT_KEYS:
        key = TEXT_KEYS[kind]
        return {"type": "text", "text": want_str(part.get(key), f"{where}.{key}")}
    if kind == "input_image" and role == "user":
        return _image(part, where)
    if kind == "input_file":
        raise InvalidInput(
            f"'{where}': file inputs cannot be sent to this model.", field=f"{where}.type"
        )
    raise InvalidInput(
        f"'{where}.type' is {shown(kind)}, which a {role} message cannot carry to this model.",
        field=f"{where}.type",
    )


def _image(part: Json, where: str) -> Json:
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        raise InvalidInput(
            f"'{where}': this model takes images by 'image_url' (a URL or data URL), "
            "not by 'file_id'.",
            field=f"{where}.image_url",
        )
    image: Json = {"url": url}
    if isinstance(part.get("detail"), str):
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


def _function_call(item: Json, where: str, into: list[Json]) -> None:
    call = {
        "id": want_id(item.get("call_id"), f"{where}.call_id"),
        "type": "function",
        "function": {
            "name": want_id(item.get("name"), f"{where}.name"),
            "arguments": want_str(item.get("arguments"), f"{where}.arguments"),
        },
    }
    last = into[-1] if into else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(call)
    else:
        into.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _function_output(item: Json, where: str, into: list[Json]) -> None:
    call_id = want_id(item.get("call_id"), f"{where}.call_id")
    output = item.get("output")
    if not isinstance(output, str):
        parts = want_list(output, f"{where}.output")
        output = [_output_part(p, f"{where}.output[{i}]") for i, p in enumerate(parts)]
    into.append({"role": "tool", "tool_call_id": call_id, "content": output})


def _output_part(part: Any, where: str) -> Json:
    part = want_object(part, where)
    if part.get("type") != "input_text":
        raise InvalidInput(
            f"'{where}': only text can be sent back as a function's output to this model.",
            field=f"{where}.type",
        )
    return {"type": "text", "text": want_str(part.get("text"), f"{where}.text")}


def _reasoning(item: Json, where: str, into: list[Json]) -> None:
    """Reasoning items are the model's own notes: chat has no way to send them back."""


_ITEMS: dict[str, Callable[[Json, str, list[Json]], None]] = {
    "message": _message,
    "function_call": _function_call,
    "function_call_output": _function_output,
    "reasoning": _reasoning,
}
