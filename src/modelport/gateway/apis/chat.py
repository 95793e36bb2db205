"""OpenAI's Chat Completions API (`POST /v1/chat/completions`), the hub's pivot format.

On an OpenAI-compatible upstream the request passes through as the client wrote it; on an
Anthropic one it is translated (`wires.MessagesWire`). Either way the client gets chat
completions naming the catalog's model id, and usage in a stream only if it asked for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from modelport.catalog.model import CatalogModel, ModelType
from modelport.core.pricing import Tokens
from modelport.errors import InvalidInput, ModelportError
from modelport.gateway.apis.openai_errors import OpenAIErrors
from modelport.gateway.events import DONE, data_event
from modelport.gateway.exchange import Exchange, Inbound, Route, Translated
from modelport.gateway.requests import (
    check_context,
    model_of,
    output_tokens,
    parse_object,
    stream_flag,
    text_chars,
)
from modelport.gateway.translate.usage import chat_usage
from modelport.gateway.wires import wire_for
from modelport.providers.dialects import Api

ERRORS = OpenAIErrors()


class ChatApi:
    api: Api = "chat"
    errors = ERRORS
    model_type: ModelType = "chat"
    x_api_key = False

    def parse(self, body: bytes, headers: dict[str, str]) -> Inbound:
        payload = parse_object(body)
        model = model_of(payload)
        messages = payload.get("messages")
        if not isinstance(messages, list) or not messages:
            raise InvalidInput("'messages' must be a non-empty array.", field="messages")
        if not all(isinstance(message, dict) for message in messages):
            raise InvalidInput("Each message must be an object.", field="messages")
        stream = stream_flag(payload)
        options = payload.get("stream_options")
        if options is not None and not isinstance(options, dict):
            raise InvalidInput("'stream_options' must be an object.", field="stream_options")
        chars = sum(text_chars(message.get("content")) for message in messages)
        return Inbound(payload, model, stream, chars, output_budget=requested_output(payload))

    def check(self, inbound: Inbound, model: CatalogModel) -> None:
        for name in ("max_tokens", "max_completion_tokens"):
            output_tokens(inbound.payload, name, model.max_output_tokens, model.id)
        check_context(inbound.prompt_chars, model.entry.context_window, model.id, "messages")

    async def exchange(self, inbound: Inbound, route: Route) -> Exchange:
        options = inbound.payload.get("stream_options") or {}
        client = ChatClient(route.model.id, options.get("include_usage") is True)
        created = int(time.time())
        return Translated(client, wire_for(route, created), inbound.payload, inbound.prompt_chars)


def requested_output(payload: dict[str, Any]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = payload.get(name)
        if isinstance(value, int):
            return value
    return None


@dataclass(frozen=True, slots=True)
class ChatClient:
    """Chat answers to a chat client: only the model id changes."""

    model_id: str
    include_usage: bool

    def answer(self, chat: dict[str, Any], tokens: Tokens | None) -> dict[str, Any]:
        chat["model"] = self.model_id
        return chat

    def stream(self) -> ChatChunkStream:
        return ChatChunkStream(self.model_id, self.include_usage)


class ChatChunkStream:
    """Relays chunks with the catalog's model id; usage only when the client asked for it."""

    def __init__(self, model_id: str, include_usage: bool) -> None:
        self._model_id = model_id
        self._include_usage = include_usage
        self._usage_sent = False
        self._last: dict[str, Any] = {}

    def feed(self, chunk: dict[str, Any]) -> bytes:
        chunk["model"] = self._model_id
        self._last = chunk
        if chunk.get("usage"):
            if self._include_usage:
                self._usage_sent = True
            else:
                del chunk["usage"]
                if not chunk.get("choices"):
                    return b""
        return data_event(chunk)

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        """`[DONE]`, after a usage chunk if the client asked for usage and has none yet."""
        if not self._include_usage or self._usage_sent:
            return DONE
        chunk = {
            "id": self._last.get("id", "chatcmpl-modelport"),
            "object": "chat.completion.chunk",
            "created": self._last.get("created", int(time.time())),
            "model": self._model_id,
            "choices": [],
            "usage": chat_usage(tokens),
        }
        return data_event(chunk) + DONE

    def fail(self, exc: ModelportError) -> bytes:
        return ERRORS.event(exc)

    def result(self) -> dict[str, Any] | None:
        return None
