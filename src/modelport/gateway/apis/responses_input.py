"""A Responses request's `input`, checked and made into items with ids, as the hub stores them.

`input` is a string (one user message) or a list of items: messages (also in the short form
`{"role", "content"}`), function calls, their outputs, and reasoning items. Anything else is
InvalidInput naming the item, before any upstream call and before anything is stored.
"""

from __future__ import annotations

import os
from typing import Any

from modelport.errors import InvalidInput

ROLES = frozenset(("user", "assistant", "system", "developer"))
PARTS = frozenset(("input_text", "output_text", "input_image", "input_file", "refusal"))
ID_PREFIXES = {
    "message": "msg_",
    "function_call": "fc_",
    "function_call_output": "fco_",
    "reasoning": "rs_",
}


def new_id(prefix: str) -> str:
    """A fresh id: `prefix` and 32 random hex digits (128 bits, as a UUID4 has)."""
    return prefix + os.urandom(16).hex()


def input_items(given: object) -> list[dict[str, Any]]:
    """The request's input as items, each with an `id` (the client's, or a new one)."""
    if isinstance(given, str):
        text = {"type": "input_text", "text": given}
        return [{"id": new_id("msg_"), "type": "message", "role": "user", "content": [text]}]
    if not isinstance(given, list) or not given:
        raise InvalidInput("'input' must be a string or a non-empty array of items.", field="input")
    return [item_of(raw, index) for index, raw in enumerate(given)]


def item_of(raw: object, index: int) -> dict[str, Any]:
    where = f"input[{index}]"
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where} must be an object.", field=where)
    item = dict(raw)
    kind = item.setdefault("type", "message")
    if kind not in ID_PREFIXES:
        raise InvalidInput(
            f"{where} has the unsupported type {kind!r}; use one of {', '.join(ID_PREFIXES)}.",
            field=where,
        )
    if kind == "message":
        check_message(item, where)
    elif kind == "function_call":
        check_strings(item, where, ("call_id", "name", "arguments"))
    elif kind == "function_call_output":
        check_strings(item, where, ("call_id",))
        if not isinstance(item.get("output"), (str, list)):
            raise InvalidInput(f"{where}.output must be a string.", field=f"{where}.output")
    if not isinstance(item.get("id"), str) or not item["id"]:
        item["id"] = new_id(ID_PREFIXES[kind])
    return item


def check_message(item: dict[str, Any], where: str) -> None:
    if item.get("role") not in ROLES:
        raise InvalidInput(
            f"{where}.role must be one of {', '.join(sorted(ROLES))}.", field=f"{where}.role"
        )
    content = item.get("content")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise InvalidInput(
            f"{where}.content must be a string or an array of parts.", field=f"{where}.content"
        )
    for number, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in PARTS:
            raise InvalidInput(
                f"{where}.content[{number}] has the unsupported type {kind!r}.",
                field=f"{where}.content[{number}]",
            )


def check_strings(item: dict[str, Any], where: str, names: tuple[str, ...]) -> None:
    for name in names:
        if not isinstance(item.get(name), str):
            raise InvalidInput(f"{where}.{name} must be a string.", field=f"{where}.{name}")


def item_chars(item: dict[str, Any]) -> int:
    """Characters of text in an item, for the prompt estimate."""
    total = 0
    for name in ("content", "arguments", "output"):
        value = item.get(name)
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, list):
            total += sum(
                len(part["text"])
                for part in value
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
    return total


def upstream_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items as sent to an upstream: without the hub's ids, which it has never seen (an id
    would make an OpenAI upstream look for an item it does not store)."""
    return [{name: value for name, value in item.items() if name != "id"} for item in items]
