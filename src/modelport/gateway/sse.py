"""Reading an upstream's server-sent events: completion chunks, the usage chunk, the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import orjson

DONE = b"data: [DONE]"
DATA_PREFIX = b"data:"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


def usage_of(payload: Any) -> Usage | None:
    """The `usage` block of a response or chunk, if it has a usable one."""
    if not isinstance(payload, dict):
        return None
    usage = payload.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens")
    completion = usage.get("completion_tokens", 0)
    if not _count(prompt) or not _count(completion):
        return None
    return Usage(prompt, completion)


def _count(value: object) -> TypeGuard[int]:
    """A token count an upstream may report: a whole number, not negative (and not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def event_data(event: bytes) -> Any:
    """The JSON of a `data:` event, or None for comments, other fields and bad JSON."""
    if not event.startswith(DATA_PREFIX):
        return None
    try:
        return orjson.loads(event[len(DATA_PREFIX) :])
    except orjson.JSONDecodeError:
        return None


def generated_pieces(chunk: Any) -> int:
    """How many choices of a chunk carry generated content: about one token each.

    OpenAI-compatible servers stream roughly a token per chunk, so when a stream stops before
    its usage arrives (the client left), the pieces seen are the best count of what was made.
    """
    if not isinstance(chunk, dict):
        return 0
    pieces = 0
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and (
            delta.get("content")
            or delta.get("refusal")
            or delta.get("tool_calls")
            or delta.get("reasoning_content")
        ):
            pieces += 1
    return pieces


def completion_chars(response: Any) -> int:
    """Characters of generated text in a whole (non-streamed) chat completion."""
    if not isinstance(response, dict):
        return 0
    total = 0
    for choice in response.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            total += len(message["content"])
    return total


def without_usage(chunk: dict[str, Any]) -> bytes | None:
    """The chunk re-encoded without its usage, or None if nothing else is left in it."""
    if not chunk.get("choices"):
        return None
    return b"data: " + orjson.dumps({k: v for k, v in chunk.items() if k != "usage"})
