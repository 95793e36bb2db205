"""Reading plain JSON for translation: each wrong shape is an InvalidInput naming its field.

Requests arrive as dicts parsed from JSON, checked only at the top level, so every nested
value is read through these: a wrong type becomes a message a client can act on, never a
KeyError or TypeError. Answers and stream chunks come from upstreams through our own dialects
and are read leniently instead (a wrong type counts as absent), so they never raise.
"""

from __future__ import annotations

from typing import Any

import orjson

from modelport.errors import InvalidInput

Json = dict[str, Any]
Event = tuple[str, Json]


def shown(value: Any) -> str:
    """`value` as an error message may quote it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def want_object(value: Any, field: str) -> Json:
    """`value` if it is a JSON object; InvalidInput naming `field` otherwise."""
    if isinstance(value, dict):
        return value
    raise InvalidInput(f"'{field}' must be an object.", field=field)


def want_list(value: Any, field: str) -> list[Any]:
    """`value` if it is a JSON array; InvalidInput naming `field` otherwise."""
    if isinstance(value, list):
        return value
    raise InvalidInput(f"'{field}' must be an array.", field=field)


def want_str(value: Any, field: str) -> str:
    """`value` if it is a string; InvalidInput naming `field` otherwise."""
    if isinstance(value, str):
        return value
    raise InvalidInput(f"'{field}' must be a string.", field=field)


def want_id(value: Any, field: str) -> str:
    """A non-empty string identifier; InvalidInput naming `field` otherwise."""
    if isinstance(value, str) and value:
        return value
    raise InvalidInput(f"'{field}' must be a non-empty string.", field=field)


def maybe_str(value: Any, field: str) -> str | None:
    """None if absent (None), else `value` as a string; InvalidInput if it is not one."""
    return None if value is None else want_str(value, field)


def maybe_bool(value: Any, field: str) -> bool | None:
    """None if absent, else `value` as a boolean; InvalidInput if it is not one."""
    if value is None or isinstance(value, bool):
        return value
    raise InvalidInput(f"'{field}' must be a boolean.", field=field)


def maybe_count(value: Any, field: str) -> int | None:
    """None if absent, else a positive integer; InvalidInput for anything else."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise InvalidInput(f"'{field}' must be a positive integer.", field=field)


def maybe_number(value: Any, field: str, high: float) -> float | int | None:
    """None if absent, else a number from 0 to `high`; InvalidInput for anything else."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= high:
        return value
    raise InvalidInput(f"'{field}' must be a number from 0 to {high:g}.", field=field)


def to_json(value: Any, field: str) -> str:
    """`value` as compact JSON text; InvalidInput if JSON cannot hold it (a huge integer)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        raise InvalidInput(f"'{field}' cannot be written as JSON.", field=field) from None


def object_from_json(text: Any) -> Json | None:
    """The JSON object `text` holds; None if it is not a string holding a JSON object."""
    if not isinstance(text, str):
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def lenient_json(value: Any) -> str:
    """`value` as JSON text, for answers: "{}" when JSON cannot hold it. Never raises."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return "{}"


def get_object(value: Any, key: str) -> Json:
    """`value[key]` when both are objects, else an empty dict: reading answers leniently."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def get_list(value: Any, key: str) -> list[Any]:
    """`value[key]` when `value` is an object and that is an array, else an empty list."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, list) else []


def get_str(value: Any, key: str) -> str:
    """`value[key]` when `value` is an object and that is a string, else ""."""
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) else ""


def chat_text(content: Any) -> str:
    """A chat message's text, read leniently: its string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(get_str(part, "text") for part in content)
    return ""


def first_choice(answer: Any) -> Json:
    """Choice 0 of a chat completion or chunk, or an empty dict."""
    for choice in get_list(answer, "choices"):
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            return choice
    return {}
