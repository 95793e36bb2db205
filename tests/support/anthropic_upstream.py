"""A fake Anthropic: a real HTTP server speaking the Messages API as api.anthropic.com does.

It serves `POST /v1/messages` (plain, and streamed with Anthropic's named events) and
`POST /v1/messages/count_tokens`. A request needs `x-api-key: CREDENTIAL`, or
`Authorization: Bearer CREDENTIAL` as Anthropic's SDK 2.x sends an API key (else 401
`authentication_error`), and an `anthropic-version` header (else 400, as Anthropic answers).
Its behaviour is chosen by the upstream model name (see `fake_server.behaviour`):

- `claude-chat` (and any name not below): answers min(max_tokens, OUTPUT_TOKENS) words "tok "
  (`stop_reason` "end_turn", or "max_tokens" when max_tokens < OUTPUT_TOKENS), with
  INPUT_TOKENS input tokens and no cache use;
- `claude-cached`: the same, and CACHE_READ_TOKENS read from the prompt cache and
  CACHE_WRITE_TOKENS written to it (5-minute cache), counted apart from `input_tokens` as
  Anthropic counts them;
- `claude-500` (`api_error`), `claude-529` (`overloaded_error`), `claude-401` and `claude-400`
  (these two echo the credential): fail so;
- `claude-slow`: stalls before answering; `claude-slowstream`: stalls mid-stream;
- `claude-drop`: hangs up (mid-stream, after DROP_AT pieces);
- `claude-paced`: streams max_tokens words, one every PACE_SECONDS (`stop_reason` "max_tokens");
- `claude-errorevent`: after DROP_AT pieces, an `event: error` echoing the credential, then the end;
- `claude-nousage`: reports no usage.

Tool use: with tools given and no `tool_result` in the last user turn, the answer is a
`tool_use` of the first tool (id TOOL_USE_ID, input TOOL_ARGUMENTS, streamed as several
`input_json_delta` pieces); with tool results there, it is TOOL_RESULT_PREFIX and their text.
Usage counts are the same whatever the answer. A stream's usage is split as Anthropic splits
it: input and cache tokens in `message_start` (with output_tokens 1), the cumulative output
tokens in `message_delta`. Messages are checked as Anthropic checks them: `max_tokens`
required, no "system" role, every `tool_result` answering a `tool_use` of the message before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.support.fake_server import (
    DROP_AT,
    TOOL_ARGUMENTS,
    TOOL_RESULT_PREFIX,
    Answer,
    FakeServer,
    behaviour,
    json_bytes,
    pieces,
    text_of,
    words,
)

CREDENTIAL = "sk-ant-fake-upstream-credential-0123456789"
INPUT_TOKENS = 13
OUTPUT_TOKENS = 5
CACHE_READ_TOKENS = 17
CACHE_WRITE_TOKENS = 19
COUNT_BASE = 100
TOOL_USE_ID = "toolu_fake_0001"
MESSAGE_ID = "msg_fake_0001"
REQUEST_ID = "req_fake_0001"

Block = dict[str, Any]


def count_input_tokens(body: dict[str, Any]) -> int:
    """What count_tokens answers: COUNT_BASE plus one per character of text in `system` and in
    the messages (string contents, text blocks, and the text of tool results)."""
    chars = len(text_of(body.get("system")))
    for message in body.get("messages") or []:
        content = message.get("content")
        chars += len(text_of(content))
        chars += sum(len(text_of(block.get("content"))) for block in _results(content))
    return COUNT_BASE + chars


def _blocks(content: Any) -> list[Block]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def _results(content: Any) -> list[Block]:
    return [block for block in _blocks(content) if block.get("type") == "tool_result"]


def _tool_use_ids(message: Any) -> set[str]:
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return set()
    blocks = _blocks(message.get("content"))
    return {str(block.get("id")) for block in blocks if block.get("type") == "tool_use"}


def check_messages(body: dict[str, Any]) -> str | None:
    """Anthropic's complaint about the messages, or None when they are well formed."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            return (
                'messages: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        before = _tool_use_ids(messages[index - 1]) if index else set()
        answered = {str(block.get("tool_use_id")) for block in _results(message.get("content"))}
        if answered - before:
            return (
                f"messages.{index}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{sorted(answered - before)[0]}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
        if before - answered:
            return (
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {sorted(before - answered)[0]}. Each `tool_use` block "
                "must have a corresponding `tool_result` block in the next message."
            )
    return None


def _answer(body: dict[str, Any], count: int) -> Answer:
    last = body["messages"][-1]
    results = _results(last.get("content")) if last.get("role") == "user" else []
    if results:
        return Answer(
            text=TOOL_RESULT_PREFIX + "\n".join(text_of(r.get("content")) for r in results)
        )
    tools = [tool for tool in body.get("tools") or [] if "input_schema" in tool]
    if tools and last.get("role") == "user":
        return Answer(tool=str(tools[0]["name"]))
    return Answer(text="tok " * count)


def _usage(kind: str, output: int) -> dict[str, Any]:
    write = CACHE_WRITE_TOKENS if kind == "cached" else 0
    return {
        "input_tokens": INPUT_TOKENS,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": CACHE_READ_TOKENS if kind == "cached" else 0,
        "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output,
        "service_tier": "standard",
    }


def _message(model: str, content: list[Block], stop: str | None) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
    }


def _content(said: Answer) -> list[Block]:
    if said.tool is None:
        return [{"type": "text", "text": said.text}]
    return [{"type": "tool_use", "id": TOOL_USE_ID, "name": said.tool, "input": TOOL_ARGUMENTS}]


def _stream_block(said: Answer) -> tuple[Block, list[Block]]:
    """The block a stream opens, and the deltas that fill it."""
    if said.tool is None:
        deltas = [{"type": "text_delta", "text": word} for word in words(said.text)]
        return {"type": "text", "text": ""}, deltas
    arguments = ["", *pieces(json_bytes(TOOL_ARGUMENTS).decode())]
    deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in arguments]
    return {"type": "tool_use", "id": TOOL_USE_ID, "name": said.tool, "input": {}}, deltas


def event(kind: str, data: dict[str, Any]) -> bytes:
    """One event as Anthropic frames it: `event: <type>`, then `data: <json>`."""
    return b"event: " + kind.encode() + b"\ndata: " + json_bytes({"type": kind, **data}) + b"\n\n"


def _error(status: int, kind: str, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": REQUEST_ID}
    return web.json_response(body, status=status, headers={"request-id": REQUEST_ID})


_FAILURES = {
    "500": (500, "api_error", "Internal server error"),
    "529": (529, "overloaded_error", "Overloaded"),
    "401": (401, "authentication_error", f"invalid x-api-key: {CREDENTIAL}"),
    "400": (400, "invalid_request_error", f"bad parameter (you sent key {CREDENTIAL})"),
}


class FakeAnthropic(FakeServer):
    """Start with `start()`. `root` is what Anthropic's SDK takes as `base_url`; `url`
    (root + /v1) is a catalog entry's `base_url`, as for https://api.anthropic.com/v1."""

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        body = await self.record(request)
        keyed = request.headers.get("x-api-key") == CREDENTIAL
        if not keyed and request.headers.get("Authorization") != f"Bearer {CREDENTIAL}":
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if not isinstance(body.get("model"), str):
            return _error(400, "invalid_request_error", "model: Field required")
        kind = behaviour(body["model"])
        if kind in _FAILURES:
            return _error(*_FAILURES[kind])
        problem = check_messages(body)
        if problem is not None:
            return _error(400, "invalid_request_error", problem)
        if kind == "slow" and await self.hang(request):
            return _error(499, "api_error", "the caller hung up")
        return body

    async def _count_tokens(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        return web.json_response({"input_tokens": count_input_tokens(admitted)})

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        body, kind = admitted, behaviour(admitted["model"])
        limit = body.get("max_tokens")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return _error(400, "invalid_request_error", "max_tokens: Field required")
        count = limit if kind == "paced" else min(limit, OUTPUT_TOKENS)
        said = _answer(body, count)
        stop = "max_tokens" if kind == "paced" or limit < OUTPUT_TOKENS else "end_turn"
        stop = "tool_use" if said.tool is not None else stop
        if body.get("stream"):
            return await self._stream(request, body, said, count, stop)
        if kind == "drop":
            request.transport.close()  # type: ignore[union-attr]
            return web.Response(status=200)
        message = _message(body["model"], _content(said), stop)
        if kind != "nousage":
            message["usage"] = _usage(kind, count)
        return web.json_response(message)

    async def _stream(
        self, request: web.Request, body: dict[str, Any], said: Answer, count: int, stop: str
    ) -> web.StreamResponse:
        model, kind = body["model"], behaviour(body["model"])
        started = _message(model, [], None)
        ended: dict[str, Any] = {"delta": {"stop_reason": stop, "stop_sequence": None}}
        if kind != "nousage":
            started["usage"] = _usage(kind, 1)
            ended["usage"] = {"output_tokens": count}
        block, deltas = _stream_block(said)
        stream = await self.event_stream(request)
        try:
            await stream.write(event("message_start", {"message": started}))
            await stream.write(event("content_block_start", {"index": 0, "content_block": block}))
            await stream.write(event("ping", {}))
            for index, delta in enumerate(deltas):
                if await self.interrupt(request, model, index):
                    return stream
                if kind == "errorevent" and index == DROP_AT:
                    failure = {"type": "overloaded_error", "message": f"Overloaded ({CREDENTIAL})"}
                    await stream.write(event("error", {"error": failure}))
                    return stream
                await stream.write(event("content_block_delta", {"index": 0, "delta": delta}))
            await stream.write(event("content_block_stop", {"index": 0}))
            await stream.write(event("ping", {}))
            await stream.write(event("message_delta", ended))
            await stream.write(event("message_stop", {}))
        except (asyncio.CancelledError, ConnectionResetError):
            self.seen.cancelled += 1
            raise
        return stream
