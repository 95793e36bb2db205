"""The upstream's side of the pivot, per dialect: what chat becomes on its wire, and back.

An OpenAI-compatible upstream speaks chat itself (`ChatWire` changes nothing); an Anthropic
one speaks Messages (`MessagesWire` translates with `translate.messages_chat`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.core.pricing import Tokens
from modelport.gateway.exchange import Route, WireSide
from modelport.gateway.translate.messages_chat import (
    ChatStreamFromMessages,
    chat_from_messages,
    messages_request_from_chat,
)
from modelport.providers.dialects import Api
from modelport.providers.dialects.base import Kind


class ChatWire:
    """An upstream that speaks chat: requests and answers pass as they are."""

    api: Api = "chat"

    def request(self, chat: dict[str, Any]) -> dict[str, Any]:
        return chat

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]:
        return answer if isinstance(answer, dict) else {}

    def chunks(self) -> ChatChunks:
        return ChatChunks()


class ChatChunks:
    def feed(self, kind: Kind, payload: Any, event: str) -> list[dict[str, Any]]:
        return [payload] if kind in ("data", "final") and isinstance(payload, dict) else []


@dataclass(frozen=True, slots=True)
class MessagesWire:
    """An Anthropic upstream: chat requests become Messages requests, and answers chat."""

    completion_id: str
    created: int
    model: str
    max_output_tokens: int
    """What a request that names no `max_tokens` gets: Anthropic requires one."""
    api: Api = "messages"

    def request(self, chat: dict[str, Any]) -> dict[str, Any]:
        return messages_request_from_chat(chat, default_max_tokens=self.max_output_tokens)

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]:
        return chat_from_messages(
            answer if isinstance(answer, dict) else {},
            completion_id=self.completion_id,
            created=self.created,
            model=self.model,
            usage=tokens,
        )

    def chunks(self) -> MessagesChunks:
        return MessagesChunks(
            ChatStreamFromMessages(
                completion_id=self.completion_id, created=self.created, model=self.model
            )
        )


@dataclass(frozen=True, slots=True)
class MessagesChunks:
    translator: ChatStreamFromMessages

    def feed(self, kind: Kind, payload: Any, event: str) -> list[dict[str, Any]]:
        if kind not in ("data", "final") or not isinstance(payload, dict):
            return []
        return self.translator.feed(str(payload.get("type") or event), payload)


def wire_for(route: Route, created: int) -> WireSide:
    """The side of the pivot the route's upstream needs."""
    if route.dialect.pivot == "messages":
        return MessagesWire(
            "chatcmpl-" + route.request_id, created, route.model.id, route.model.max_output_tokens
        )
    return ChatWire()
