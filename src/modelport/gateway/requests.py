"""Reading /v1 request bodies, and the checks every API shares."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Scope

from modelport.api.context import request_id_of
from modelport.errors import InvalidInput

Headers = list[tuple[bytes, bytes]]
"""Response headers a handler adds to every answer (the key's `x-ratelimit-*`)."""


class ClientGone(Exception):
    """The client disconnected before its request body arrived: there is no request."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; InvalidInput (400) past `limit` bytes, before anything else.

    Raises ClientGone if the client disconnects first (or sent less than its Content-Length):
    such a request reaches no upstream, costs nothing and gets no answer.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise InvalidInput(
                f"The request body is larger than {limit} bytes.", code="request_too_large"
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def parse_object(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(payload, dict):
        raise InvalidInput("The request body must be a JSON object.", code="invalid_json")
    return payload


def model_of(payload: dict[str, Any]) -> str:
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidInput("You must provide a model parameter.", field="model")
    return model


def estimate_tokens(chars: int) -> int:
    """A rough token count for when an upstream reports none: about four characters each."""
    return (chars + 3) // 4


def stream_flag(payload: dict[str, Any]) -> bool:
    """`stream`, false when absent; InvalidInput unless a boolean."""
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidInput("'stream' must be a boolean.", field="stream")
    return stream


def output_tokens(payload: dict[str, Any], name: str, most: int, model_id: str) -> int | None:
    """The positive whole number `payload[name]`, if given, up to `most` (what the model can
    produce); InvalidInput naming the field otherwise."""
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput(f"'{name}' must be a positive integer.", field=name)
    if value > most:
        raise InvalidInput(
            f"'{name}' is {value}, but {model_id} can produce at most {most} tokens.",
            field=name,
            code="max_tokens_too_large",
        )
    return value


def check_context(prompt_chars: int, context_window: int, model_id: str, field: str) -> None:
    """InvalidInput if the prompt cannot fit the model's context window."""
    if estimate_tokens(prompt_chars) > context_window:
        raise InvalidInput(
            f"The prompt is about {estimate_tokens(prompt_chars)} tokens, more than "
            f"{model_id}'s context window of {context_window}.",
            field=field,
            code="context_length_exceeded",
        )


def text_chars(content: object) -> int:
    """Characters of text in a message's content: a string, or parts with `text`."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(
            len(part["text"])
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return 0


def header(scope: Scope, name: bytes) -> str | None:
    """One request header's value, or None."""
    for key, value in scope["headers"]:
        if key == name:
            text = value.decode("latin-1").strip()
            return text or None
    return None


def header_map(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name (the last of repeated ones)."""
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}


def request_id(scope: Scope) -> str:
    found = request_id_of(scope)
    assert found is not None  # RequestContextMiddleware sets it
    return found
