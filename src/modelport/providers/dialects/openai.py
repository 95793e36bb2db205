"""OpenAI-compatible upstreams: OpenAI, DigitalOcean, vLLM, Ollama and the like.

They serve chat completions and embeddings, and some the Responses API (`native_responses`).
Usage comes as `prompt_tokens`/`completion_tokens` (chat, embeddings) or `input_tokens`/
`output_tokens` (responses), cached and reasoning tokens in their `*_details`. A chat stream
reports usage only when asked (`stream_options.include_usage`), in a last chunk without
choices, and ends with `data: [DONE]`; a Responses stream ends with `response.completed`.
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

PATHS: dict[Api, str] = {
    "chat": "/chat/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}
DONE = b"[DONE]"
TERMINAL = frozenset(("response.completed", "response.incomplete"))


class OpenAIDialect:
    name = "openai"
    pivot: Api = "chat"

    def speaks(self, api: Api, native_responses: bool) -> bool:
        return api in ("chat", "embeddings") or (api == "responses" and native_responses)

    def target(self, base_url: str, api_key: str | None) -> Target:
        return Target.bearer(base_url, api_key)

    def headers(self, forwarded: dict[str, str]) -> tuple[Header, ...]:
        return ()

    def path(self, api: Api) -> str:
        return PATHS[api]

    def prepare(self, api: Api, payload: dict[str, Any], upstream_model: str) -> dict[str, Any]:
        upstream = dict(payload)
        upstream["model"] = upstream_model
        if api == "chat" and payload.get("stream") is True:
            options = payload.get("stream_options")
            upstream["stream_options"] = {**(options or {}), "include_usage": True}
        return upstream

    def usage(self, api: Api, answer: Any) -> Tokens | None:
        usage = answer.get("usage") if isinstance(answer, dict) else None
        if api == "responses":
            return responses_usage(usage)
        return chat_usage(usage)

    def meter(self, api: Api) -> ChatMeter | ResponsesMeter:
        return ResponsesMeter() if api == "responses" else ChatMeter()

    def error_message(self, data: bytes) -> str | None:
        return error_message(data)


def chat_usage(usage: object) -> Tokens | None:
    """Tokens from a chat or embeddings `usage` block; None if it is not a usable one."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens", 0)
    if not count(prompt) or not count(completion):
        return None
    cached = part(usage.get("prompt_tokens_details"), "cached_tokens")
    reasoning = part(usage.get("completion_tokens_details"), "reasoning_tokens")
    return Tokens(
        prompt, completion, cached_prompt=min(cached, prompt), reasoning=min(reasoning, completion)
    )


def responses_usage(usage: object) -> Tokens | None:
    """Tokens from a Responses API `usage` block; None if it is not a usable one."""
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("input_tokens"), usage.get("output_tokens")
    if not count(prompt) or not count(completion):
        return None
    cached = part(usage.get("input_tokens_details"), "cached_tokens")
    reasoning = part(usage.get("output_tokens_details"), "reasoning_tokens")
    return Tokens(
        prompt, completion, cached_prompt=min(cached, prompt), reasoning=min(reasoning, completion)
    )


class ChatMeter(Counts):
    """A chat completions stream: chunks, a usage chunk, `[DONE]`."""

    def read(self, name: str, data: bytes) -> tuple[Kind, Any]:
        if data == DONE:
            return "end", None
        chunk = loads(data)
        if not isinstance(chunk, dict):
            return "skip", None
        if name == "error" or "error" in chunk:
            return "error", chunk
        if chunk.get("usage"):
            tokens = chat_usage(chunk["usage"])
            if tokens is not None:
                self.tokens = self.prompt = tokens
        self.pieces += generated_pieces(chunk)
        return "data", chunk


def generated_pieces(chunk: dict[str, Any]) -> int:
    """How many choices of a chunk carry generated content: about one token each.

    OpenAI-compatible servers stream roughly a token per chunk, so when a stream stops before
    its usage arrives (the client left), the pieces seen are the best count of what was made.
    """
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


class ResponsesMeter(Counts):
    """A Responses API stream: typed events, usage in `response.completed`."""

    def read(self, name: str, data: bytes) -> tuple[Kind, Any]:
        payload = loads(data)
        if not isinstance(payload, dict):
            return "skip", None
        kind = payload.get("type") or name
        if kind in ("error", "response.failed"):
            return "error", payload
        if kind in TERMINAL:
            response = payload.get("response")
            if isinstance(response, dict):
                self.tokens = self.prompt = responses_usage(response.get("usage"))
            return "final", payload
        if isinstance(kind, str) and kind.endswith(".delta"):
            self.pieces += 1
        return "data", payload
