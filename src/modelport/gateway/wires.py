"""The upstream's side of the pivot, per dialect: what chat becomes on its wire, and back.

An OpenAI-compatible upstream speaks chat itself (`ChatWire` changes nothing).
"""

from __future__ import annotations

from typing import Any

from modelport.core.pricing import Tokens
from modelport.gateway.exchange import Route, WireSide
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


def wire_for(route: Route, created: int) -> WireSide:
    """The side of the pivot the route's upstream needs."""
    return ChatWire()
