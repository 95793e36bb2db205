"""Reading and checking /v1 request bodies: only what routing and metering need."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive

from modelport.catalog.model import CatalogModel
from modelport.errors import InvalidInput


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; InvalidInput (400) past `limit` bytes, before anything else."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
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


@dataclass(frozen=True, slots=True)
class ChatRequest:
    payload: dict[str, Any]
    model: str
    stream: bool
    include_usage: bool
    prompt_chars: int


def parse_chat(body: bytes) -> ChatRequest:
    """A chat completion request; InvalidInput naming the field if it cannot be served."""
    payload = parse_object(body)
    model = model_of(payload)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("'messages' must be a non-empty array.", field="messages")
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidInput("'stream' must be a boolean.", field="stream")
    options = payload.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidInput("'stream_options' must be an object.", field="stream_options")
    include_usage = bool(options and options.get("include_usage") is True)
    return ChatRequest(payload, model, stream, include_usage, _message_chars(messages))


def parse_embeddings(body: bytes) -> tuple[dict[str, Any], str, int]:
    """An embeddings request: the payload, the model and the input's length in characters."""
    payload = parse_object(body)
    model = model_of(payload)
    given = payload.get("input")
    if isinstance(given, str):
        chars = len(given)
    elif isinstance(given, list) and given:
        chars = sum(
            len(item) if isinstance(item, str) else len(item) * 4
            for item in given
            if isinstance(item, (str, list))
        )
    else:
        raise InvalidInput("'input' must be a string or a non-empty array.", field="input")
    return payload, model, chars


def check_limits(request: ChatRequest, model: CatalogModel) -> None:
    """InvalidInput if `max_tokens` or the prompt cannot fit the model, before any upstream call."""
    for name in ("max_tokens", "max_completion_tokens"):
        value = request.payload.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidInput(f"'{name}' must be a positive integer.", field=name)
        if value > model.max_output_tokens:
            raise InvalidInput(
                f"'{name}' is {value}, but {model.id} can produce at most "
                f"{model.max_output_tokens} tokens.",
                field=name,
                code="max_tokens_too_large",
            )
    if estimate_tokens(request.prompt_chars) > model.entry.context_window:
        raise InvalidInput(
            f"The prompt is about {estimate_tokens(request.prompt_chars)} tokens, more than "
            f"{model.id}'s context window of {model.entry.context_window}.",
            field="messages",
            code="context_length_exceeded",
        )


def estimate_tokens(chars: int) -> int:
    """A rough token count for when an upstream reports none: about four characters each."""
    return (chars + 3) // 4


def _message_chars(messages: list[Any]) -> int:
    total = 0
    for message in messages:
        if not isinstance(message, dict):
            raise InvalidInput("Each message must be an object.", field="messages")
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(
                len(part["text"])
                for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)
            )
    return total
