"""Server-sent events as the hub writes them to clients."""

from __future__ import annotations

from typing import Any

import orjson

DONE = b"data: [DONE]\n\n"


def data_event(payload: Any) -> bytes:
    """A `data:` event, as OpenAI's chat completions stream them."""
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def named_event(name: str, payload: Any) -> bytes:
    """An `event:` + `data:` event, as the Responses and Messages APIs stream them."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def named_events(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    if len(events) == 1:
        return named_event(*events[0])
    return b"".join([named_event(name, payload) for name, payload in events])
