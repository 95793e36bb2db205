"""What every dialect provides, and the helpers they share."""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeGuard

import orjson

from modelport.core.pricing import Tokens
from modelport.providers.upstream import Header, Target

Api = Literal["chat", "embeddings", "responses", "messages", "count_tokens"]
"""The APIs the gateway serves, named by what they do: each dialect serves some natively."""

Kind = Literal["data", "final", "end", "error", "skip"]
"""What an upstream stream event is: content to relay, the last event (relay it, then stop),
the end marker (stop, relay nothing), an upstream error, or nothing to relay (bad JSON)."""


class StreamMeter(Protocol):
    """Reads one upstream stream's events, keeping count of what it reports and generates."""

    tokens: Tokens | None
    """The upstream's own count, once it has reported all of it."""
    prompt: Tokens | None
    """The input part of the count, when an upstream reports it before the end."""
    pieces: int
    """Generated pieces relayed so far (about a token each): the count for a cut stream."""

    def read(self, name: str, data: bytes) -> tuple[Kind, Any]:
        """What an event (its `event:` name and its data) is, and its JSON (None if none)."""


class Dialect(Protocol):
    name: str
    pivot: Api
    """The API this dialect translates other APIs through (chat, or Anthropic's messages)."""

    def speaks(self, api: Api, native_responses: bool) -> bool:
        """Whether the upstream serves `api` itself (no translation)."""

    def target(self, base_url: str, api_key: str | None) -> Target:
        """Where requests go, with this dialect's authentication headers."""

    def headers(self, forwarded: dict[str, str]) -> tuple[Header, ...]:
        """Headers every request carries besides the credential; `forwarded` are the client's
        headers its API passes up (Anthropic's `anthropic-version` and `anthropic-beta`)."""

    def path(self, api: Api) -> str:
        """The path under the base URL that serves `api`."""

    def prepare(self, api: Api, payload: dict[str, Any], upstream_model: str) -> dict[str, Any]:
        """The payload as the upstream needs it: its model name, usage reported in streams."""

    def usage(self, api: Api, answer: Any) -> Tokens | None:
        """The usage an answer reports, in our convention; None when it reports none."""

    def meter(self, api: Api) -> StreamMeter:
        """A fresh reader for one stream of `api`."""

    def error_message(self, data: bytes) -> str | None:
        """The message of an upstream error answer, when it has one."""


def count(value: object) -> TypeGuard[int]:
    """A token count an upstream may report: a whole number, not negative (and not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def part(details: object, name: str) -> int:
    """`details[name]` when it is a count, else 0 (details are optional everywhere)."""
    if isinstance(details, dict):
        value = details.get(name)
        if count(value):
            return value
    return 0


def loads(data: bytes) -> Any:
    """JSON, or None when `data` is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


class Counts:
    """What every stream meter keeps while it reads: see `StreamMeter`."""

    def __init__(self) -> None:
        self.tokens: Tokens | None = None
        self.prompt: Tokens | None = None
        self.pieces = 0


def error_message(data: bytes) -> str | None:
    """The message of an error answer shaped `{"error": {"message": ...}}` (OpenAI's and
    Anthropic's both are), when it has one."""
    parsed = loads(data)
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        message = parsed["error"].get("message")
        return str(message) if message else None
    return None
