"""Anthropic's Messages API, as api.anthropic.com serves it.

Authentication is `x-api-key` and every request names an `anthropic-version`. Usage counts
input tokens apart from cache reads and cache writes (`cache_read_input_tokens`,
`cache_creation_input_tokens`); ours counts them all as prompt tokens, of which those. A stream
reports the input in `message_start` and the output, cumulatively, in `message_delta`; it ends
with `message_stop`. Events are framed `event: <type>` + `data: <json>`.
"""

from __future__ import annotations

from typing import Any

from modelport.core.pricing import Tokens
from modelport.providers.dialects.base import (
    Api,
    Counts,
    Kind,
    count,
    error_message,
    loads,
    part,
)
from modelport.providers.upstream import Header, Target

VERSION = "2023-06-01"
PATHS: dict[Api, str] = {"messages": "/messages", "count_tokens": "/messages/count_tokens"}
FORWARDED = ("anthropic-version", "anthropic-beta")
"""Headers of an Anthropic client that go up with its request: they choose API behaviour."""


class AnthropicDialect:
    name = "anthropic"
    pivot: Api = "messages"

    def speaks(self, api: Api, native_responses: bool) -> bool:
        return api in PATHS

    def target(self, base_url: str, api_key: str | None) -> Target:
        return Target(base_url, (("x-api-key", api_key),) if api_key else ())

    def headers(self, forwarded: dict[str, str]) -> tuple[Header, ...]:
        """`anthropic-version` (the client's, or ours) and the client's `anthropic-beta`."""
        version = forwarded.get("anthropic-version") or VERSION
        beta = forwarded.get("anthropic-beta")
        return (("anthropic-version", version),) + ((("anthropic-beta", beta),) if beta else ())

    def path(self, api: Api) -> str:
        return PATHS[api]

    def prepare(self, api: Api, payload: dict[str, Any], upstream_model: str) -> dict[str, Any]:
        upstream = dict(payload)
        upstream["model"] = upstream_model
        return upstream

    def usage(self, api: Api, answer: Any) -> Tokens | None:
        usage = answer.get("usage") if isinstance(answer, dict) else None
        return messages_usage(usage, None)

    def meter(self, api: Api) -> MessagesMeter:
        return MessagesMeter()

    def error_message(self, data: bytes) -> str | None:
        return error_message(data)


def messages_usage(usage: object, known: Tokens | None) -> Tokens | None:
    """Tokens from a Messages `usage` block, input parts falling back to `known` ones."""
    if not isinstance(usage, dict):
        return None
    fresh, output = usage.get("input_tokens"), usage.get("output_tokens")
    if not count(output):
        return None
    if count(fresh):
        read = part(usage, "cache_read_input_tokens")
        written = part(usage, "cache_creation_input_tokens")
        return Tokens(fresh + read + written, output, cached_prompt=read, cache_write=written)
    if known is None:
        return None
    return Tokens(
        known.prompt, output, cached_prompt=known.cached_prompt, cache_write=known.cache_write
    )


class MessagesMeter(Counts):
    """An Anthropic stream: input usage at the start, cumulative output in `message_delta`."""

    def read(self, name: str, data: bytes) -> tuple[Kind, Any]:
        payload = loads(data)
        if not isinstance(payload, dict):
            return "skip", None
        kind = payload.get("type") or name
        if kind == "content_block_delta":
            self.pieces += 1
        elif kind == "message_start":
            message = payload.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            self.prompt = messages_usage(usage, None)
        elif kind == "message_delta":
            self.tokens = messages_usage(payload.get("usage"), self.prompt) or self.tokens
        elif kind == "message_stop":
            return "final", payload
        elif kind == "error":
            return "error", payload
        return "data", payload
