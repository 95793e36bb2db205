"""The official SDKs reading what the translators make, as they would read an upstream.

Each SDK gets an httpx2 transport (both SDKs are built on httpx2) that answers any request
with the bytes given, so the SDK's own parsing and stream accumulation (`responses.stream`,
`messages.stream`, `chat.completions.stream`) judge our events, with no server in between.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import anthropic
import httpx2
import openai
import orjson
from anthropic.types import Message, MessageParam
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.responses import Response

SSE = {"content-type": "text/event-stream"}


def counter() -> Callable[[str], str]:
    """Item ids as the pipeline makes them (a prefix, then something unique), here counted."""
    count = iter(range(1_000_000))
    return lambda prefix: f"{prefix}{next(count)}"


def sse(events: Iterable[tuple[str, dict[str, Any]]]) -> bytes:
    """Server-sent events with names (Responses, Anthropic)."""
    return b"".join(
        b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
        for name, data in events
    )


def sse_chunks(chunks: Iterable[dict[str, Any]]) -> bytes:
    """Chat completion chunks as OpenAI streams them: data lines, then [DONE]."""
    lines = [b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks]
    return b"".join(lines) + b"data: [DONE]\n\n"


class Replay:
    """`openai` and `anthropic` clients whose every request gets `body` back."""

    def __init__(self) -> None:
        self.body = b""
        transport = httpx2.MockTransport(self._answer)
        self.openai = openai.OpenAI(
            api_key="sk-test",
            base_url="http://upstream.test/v1",
            http_client=httpx2.Client(transport=transport),
            max_retries=0,
        )
        self.anthropic = anthropic.Anthropic(
            api_key="sk-ant-test",
            base_url="http://upstream.test",
            http_client=httpx2.Client(transport=transport),
            max_retries=0,
        )

    def _answer(self, request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=self.body, headers=SSE)

    def responses(self, events: Iterable[tuple[str, dict[str, Any]]]) -> Response:
        """The final Response `client.responses.stream` assembles from `events` (or, as the
        helper assembles only completed ones, the one an incomplete or failed stream ends with)."""
        self.body = sse(events)
        ended: Response | None = None
        with self.openai.responses.stream(model="m", input="x") as stream:
            for event in stream:
                if event.type in ("response.incomplete", "response.failed"):
                    ended = event.response
            return ended or stream.get_final_response()

    def messages(self, events: Iterable[tuple[str, dict[str, Any]]]) -> Message:
        """The final message `client.messages.stream` assembles from `events`."""
        self.body = sse(events)
        messages: list[MessageParam] = [{"role": "user", "content": "x"}]
        with self.anthropic.messages.stream(model="m", max_tokens=1, messages=messages) as stream:
            return stream.get_final_message()

    def chat(self, chunks: Iterable[dict[str, Any]]) -> ChatCompletion:
        """The completion `client.chat.completions.stream` assembles from `chunks`."""
        self.body = sse_chunks(chunks)
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "x"}]
        with self.openai.chat.completions.stream(model="m", messages=messages) as stream:
            for _ in stream:
                pass
            try:
                return stream.get_final_completion()
            except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as cut:
                # The helper refuses to parse a cut answer but still hands over what it built.
                if cut.completion is None:
                    raise
                return cut.completion


def chat_calls(completion: ChatCompletion) -> list[tuple[str, str, Any]]:
    """(id, name, arguments as a JSON value) of a completion's function tool calls."""
    calls = completion.choices[0].message.tool_calls or []
    return [
        (call.id, call.function.name, json.loads(call.function.arguments))
        for call in calls
        if call.type == "function"
    ]
