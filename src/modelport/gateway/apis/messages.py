"""Anthropic's Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`).

On an Anthropic upstream the request passes through as the client wrote it (with its
`anthropic-version` and `anthropic-beta` headers); on an OpenAI-compatible one it is
translated through chat. The key may come as `x-api-key`, as Anthropic's SDK (and Claude
Code, pointed here with `ANTHROPIC_BASE_URL`) sends it; errors come in Anthropic's shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from modelport.catalog.model import CatalogModel, ModelType
from modelport.core.pricing import Tokens
from modelport.errors import InvalidInput, ModelportError
from modelport.gateway.apis.anthropic_errors import AnthropicErrors
from modelport.gateway.events import named_event, named_events
from modelport.gateway.exchange import Exchange, Inbound, Passthrough, Route, Translated
from modelport.gateway.requests import (
    check_context,
    model_of,
    output_tokens,
    parse_object,
    stream_flag,
    text_chars,
)
from modelport.gateway.translate.messages_chat import (
    MessagesStreamFromChat,
    chat_request_from_messages,
    messages_from_chat,
)
from modelport.gateway.wires import wire_for
from modelport.providers.dialects import Api
from modelport.providers.dialects.base import Kind

ERRORS = AnthropicErrors()
FORWARDED = ("anthropic-version", "anthropic-beta")
ROLES = frozenset(("user", "assistant"))
BLOCKS = frozenset(
    (
        "text", "image", "document", "search_result", "tool_use", "tool_result", "thinking",
        "redacted_thinking", "server_tool_use", "web_search_tool_result",
        "web_fetch_tool_result", "code_execution_tool_result",
        "bash_code_execution_tool_result", "text_editor_code_execution_tool_result",
        "mcp_tool_use", "mcp_tool_result", "container_upload",
    )
)  # fmt: skip
"""The content block types Anthropic's API accepts; any other is refused before it is sent.
A translated request accepts fewer (`translate.messages_chat` says which)."""


def parse_messages(body: bytes, headers: dict[str, str], *, counting: bool) -> Inbound:
    """A Messages request (or a count_tokens one, which needs no `max_tokens`)."""
    payload = parse_object(body)
    model = model_of(payload)
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("messages: must be a non-empty array.", field="messages")
    chars = system_chars(payload.get("system"))
    for index, message in enumerate(messages):
        chars += message_chars(message, index)
    if not counting:
        budget = payload.get("max_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise InvalidInput("max_tokens: must be a positive integer.", field="max_tokens")
    stream = stream_flag(payload)
    forwarded = {name: headers[name] for name in FORWARDED if name in headers}
    budget = None if counting else payload["max_tokens"]
    return Inbound(payload, model, stream, chars, output_budget=budget, forwarded=forwarded)


def system_chars(system: object) -> int:
    if system is None or isinstance(system, str):
        return len(system or "")
    if isinstance(system, list) and all(
        isinstance(block, dict) and block.get("type") == "text" for block in system
    ):
        return text_chars(system)
    raise InvalidInput("system: must be a string or an array of text blocks.", field="system")


def message_chars(message: object, index: int) -> int:
    where = f"messages.{index}"
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        raise InvalidInput(f"{where}: must be an object with role user or assistant.", field=where)
    content = message.get("content")
    if isinstance(content, str):
        return len(content)
    if not isinstance(content, list):
        raise InvalidInput(
            f"{where}.content: must be a string or an array of content blocks.",
            field=f"{where}.content",
        )
    for number, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCKS:
            raise InvalidInput(
                f"{where}.content.{number}: unknown content block type {kind!r}.",
                field=f"{where}.content.{number}",
            )
    return text_chars(content)


class MessagesApi:
    api: Api = "messages"
    errors = ERRORS
    model_type: ModelType = "chat"
    x_api_key = True

    def parse(self, body: bytes, headers: dict[str, str]) -> Inbound:
        return parse_messages(body, headers, counting=False)

    def check(self, inbound: Inbound, model: CatalogModel) -> None:
        output_tokens(inbound.payload, "max_tokens", model.max_output_tokens, model.id)
        check_context(inbound.prompt_chars, model.entry.context_window, model.id, "messages")

    async def exchange(self, inbound: Inbound, route: Route) -> Exchange:
        message_id = "msg_" + route.request_id.replace("-", "")
        if route.speaks("messages"):
            model_id = route.model.id
            return Passthrough(
                "messages",
                inbound.payload,
                inbound.prompt_chars,
                model_id,
                lambda: PassthroughStream(model_id),
            )
        client = MessagesClient(message_id, route.model.id)
        chat = chat_request_from_messages(inbound.payload)
        return Translated(client, wire_for(route, int(time.time())), chat, inbound.prompt_chars)


@dataclass(slots=True)
class PassthroughStream:
    model_id: str

    def feed(self, kind: Kind, payload: Any, event: str) -> bytes:
        name = str(payload.get("type") or event)
        if name == "message_start" and isinstance(payload.get("message"), dict):
            payload["message"]["model"] = self.model_id
        return named_event(name, payload)

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        return b""  # the upstream's message_stop has been relayed

    def fail(self, exc: ModelportError) -> bytes:
        return ERRORS.event(exc)

    def result(self) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True, slots=True)
class MessagesClient:
    """Chat answers to a Messages client."""

    message_id: str
    model_id: str

    def answer(self, chat: dict[str, Any], tokens: Tokens | None) -> dict[str, Any]:
        return messages_from_chat(
            chat, message_id=self.message_id, model=self.model_id, usage=tokens
        )

    def stream(self) -> MessagesChatStream:
        return MessagesChatStream(
            MessagesStreamFromChat(message_id=self.message_id, model=self.model_id)
        )


@dataclass(slots=True)
class MessagesChatStream:
    translator: MessagesStreamFromChat

    def feed(self, chunk: dict[str, Any]) -> bytes:
        return named_events(self.translator.feed(chunk))

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        return named_events(self.translator.finish(tokens))

    def fail(self, exc: ModelportError) -> bytes:
        return ERRORS.event(exc)

    def result(self) -> dict[str, Any] | None:
        return None
