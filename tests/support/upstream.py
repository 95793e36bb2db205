"""A fake OpenAI-compatible model provider: a real HTTP server the tests start.

It serves `/v1/chat/completions`, `/v1/embeddings` and OpenAI's own `/v1/responses`. Its
behaviour is chosen by the upstream model name a request carries, so one server plays every
part (see `fake_server.behaviour`):

- `fake-chat` (and any name not below): answers `count` words "tok " (`count` is the
  request's `max_tokens`, `max_completion_tokens` or `max_output_tokens`, else
  COMPLETION_TOKENS), with PROMPT_TOKENS prompt tokens and `count` completion tokens;
- `fake-cached`: the same, and reports CACHED_TOKENS of the prompt as cached and
  min(REASONING_TOKENS, count) of the completion as reasoning;
- `fake-500`, `fake-401`, `fake-400`: fail so (the 401 and 400 echo the credential);
- `fake-slow`: stalls before answering; `fake-slowstream`: stalls mid-stream;
- `fake-drop`: hangs up (mid-stream, after DROP_AT pieces);
- `fake-paced`: streams one piece every PACE_SECONDS;
- `fake-nousage`: reports no usage;
- `fake-errorevent`: after DROP_AT pieces, an error event echoing the credential, then the end;
- `fake-notjson`: a 200 whose body is an HTML page echoing the credential;
- `fake-sse-event`, `-crlf`, `-cr`, `-multiline`, `-split`: chat streams framed in the other
  ways server-sent events allow (named events with ids and comments; CRLF or CR line ends;
  data spread over several lines; each event written in several pieces).

Function calling: a request with tools whose last message (or input item) is the user's is
answered with a call of the first tool (id TOOL_CALL_ID, arguments TOOL_ARGUMENTS, streamed in
pieces); one that ends with tool results (`tool` messages, `function_call_output` items), with
TOOL_RESULT_PREFIX and their content. Token counts are the same whatever the answer. The
Responses API answers in OpenAI's shapes and event sequence (openai_responses.py); like
OpenAI, it refuses a `previous_response_id` it never issued (it keeps no conversations).

It also answers as Azure OpenAI does, at `/openai/deployments/<name>/chat/completions` and
`/embeddings`: the credential in an `api-key` header (else 401) and an `api-version` query
parameter (else 404), errors shaped `{"error": {"code", "message"}}`; the deployment's name,
noted in `seen.deployments`, chooses the behaviour as a model name does elsewhere.

Every request is recorded in `seen` (body, path, headers), refused or not. Given a
server-side `ssl.SSLContext`, it serves HTTPS.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import orjson
from aiohttp import web

from tests.support import openai_responses as responses
from tests.support.fake_server import DROP_AT as DROP_AT
from tests.support.fake_server import HANG_SECONDS as HANG_SECONDS
from tests.support.fake_server import PACE_SECONDS as PACE_SECONDS
from tests.support.fake_server import TOOL_ARGUMENTS as TOOL_ARGUMENTS
from tests.support.fake_server import TOOL_RESULT_PREFIX as TOOL_RESULT_PREFIX
from tests.support.fake_server import (
    Answer,
    FakeServer,
    behaviour,
    json_bytes,
    pieces,
    text_of,
    words,
)

CREDENTIAL = "sk-fake-upstream-credential-0123456789"
PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
CACHED_TOKENS = 4
REASONING_TOKENS = 3
EMBEDDING_TOKENS_PER_INPUT = 5
TOOL_CALL_ID = "call_fake_0001"
SPLIT_PAUSE = 0.005

_ENDINGS = {"sse-crlf": b"\r\n", "sse-cr": b"\r"}
AZURE_DEPLOYMENT = "/openai/deployments/{deployment}"


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(kind: str, count: int) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": count,
        "total_tokens": PROMPT_TOKENS + count,
    }
    if kind == "cached":
        usage["prompt_tokens_details"] = {
            "cached_tokens": CACHED_TOKENS,
            "cache_write_tokens": 0,
            "audio_tokens": 0,
        }
        usage["completion_tokens_details"] = {
            "reasoning_tokens": min(REASONING_TOKENS, count),
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return usage


def _answer(body: dict[str, Any], count: int) -> Answer:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    results: list[str] = []
    while messages and messages[-1].get("role") == "tool":
        results.insert(0, text_of(messages.pop().get("content")))
    if results:
        return Answer(text=TOOL_RESULT_PREFIX + "\n".join(results))
    tools = body.get("tools") or []
    if tools and messages and messages[-1].get("role") == "user":
        return Answer(tool=tools[0]["function"]["name"])
    return Answer(text="tok " * count)


def _tool_call(name: str, arguments: str, index: int | None = None) -> dict[str, Any]:
    function = {"name": name, "arguments": arguments}
    call = {"id": TOOL_CALL_ID, "type": "function", "function": function}
    return call if index is None else {"index": index, **call}


def _message(said: Answer) -> dict[str, Any]:
    if said.tool is None:
        return {"role": "assistant", "content": said.text}
    arguments = json_bytes(TOOL_ARGUMENTS).decode()
    return {"role": "assistant", "content": None, "tool_calls": [_tool_call(said.tool, arguments)]}


def _deltas(said: Answer) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """A streamed answer: the opening delta, the pieces, the finish reason."""
    steps: list[dict[str, Any]]
    if said.tool is None:
        steps = [{"content": word} for word in words(said.text)]
        return {"role": "assistant", "content": ""}, steps, "stop"
    opening = {"role": "assistant", "content": None, "tool_calls": [_tool_call(said.tool, "", 0)]}
    arguments = pieces(json_bytes(TOOL_ARGUMENTS).decode())
    steps = [{"tool_calls": [{"index": 0, "function": {"arguments": a}}]} for a in arguments]
    return opening, steps, "tool_calls"


def _frame(payload: Any, style: str, ids: Iterator[int]) -> list[bytes]:
    """One server-sent event carrying `payload` (JSON, or "[DONE]"), framed in `style`: the
    parts to write one after the other."""
    data = payload.encode() if isinstance(payload, str) else json_bytes(payload)
    if style == "sse-event":
        number = next(ids)
        alive = b": keep-alive\n\n" if number == 1 else b""
        head = b"id: %d\n: a comment\nevent: message\nretry: 3000\n" % number
        return [alive + head + b"data:" + data + b"\n\n"]
    if style == "sse-multiline" and not isinstance(payload, str):
        lines = orjson.dumps(payload, option=orjson.OPT_INDENT_2).split(b"\n")
        return [b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"]
    end = _ENDINGS.get(style, b"\n")
    if style == "sse-split":
        middle = len(data) // 2
        return [b"da", b"ta: " + data[:middle], data[middle:] + end, end]
    return [b"data: " + data + end + end]


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "fake_error", "code": None}}, status=status
    )


def _azure_refusal(request: web.Request) -> web.Response | None:
    """Azure's answer to a request without its api-version or its key, if it lacks one."""
    if not request.query.get("api-version"):
        return web.json_response(
            {"error": {"code": "404", "message": "Resource not found"}}, status=404
        )
    if request.headers.get("api-key") != CREDENTIAL:
        message = (
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
            "provide a valid key for an active subscription and use a correct regional API "
            "endpoint for your resource."
        )
        return web.json_response({"error": {"code": "401", "message": message}}, status=401)
    return None


def _count(body: dict[str, Any]) -> int:
    for name in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
        if body.get(name):
            return int(body[name])
    return COMPLETION_TOKENS


class FakeUpstream(FakeServer):
    """Start with `start()`; `url` is its OpenAI-style base URL (ending in /v1)."""

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/responses", self._responses)
        app.router.add_post(AZURE_DEPLOYMENT + "/chat/completions", self._chat)
        app.router.add_post(AZURE_DEPLOYMENT + "/embeddings", self._embeddings)

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        body = await self.record(request)
        deployment = request.match_info.get("deployment")
        if deployment is not None:
            self.seen.deployments.append(deployment)
            refused = _azure_refusal(request)
            if refused is not None:
                return refused
            body = {**body, "model": deployment}
        elif request.headers.get("Authorization") != f"Bearer {CREDENTIAL}":
            return _error(
                401, f"Incorrect API key provided: {request.headers.get('Authorization')}"
            )
        kind = behaviour(body["model"])
        if kind == "500":
            return _error(500, "the fake upstream is broken")
        if kind == "401":
            return _error(401, f"Incorrect API key provided: {CREDENTIAL}")
        if kind == "400":
            return _error(400, f"bad parameter (you sent key {CREDENTIAL})")
        if kind == "notjson":
            page = f"<html><body>502 Bad Gateway (upstream key {CREDENTIAL})</body></html>"
            return web.Response(status=200, text=page, content_type="text/html")
        if kind == "slow" and await self.hang(request):
            return _error(499, "the caller hung up")
        return body

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        body = admitted
        model, count = body["model"], _count(body)
        said = _answer(body, count)
        reports_usage = behaviour(model) != "nousage"
        if body.get("stream"):
            return await self._chat_stream(request, body, said, count)
        response: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": _message(said),
                    "finish_reason": "stop" if said.tool is None else "tool_calls",
                }
            ],
        }
        if reports_usage:
            response["usage"] = _usage(behaviour(model), count)
        if behaviour(model) == "drop":
            request.transport.close()  # type: ignore[union-attr]
            return web.Response(status=200)
        return web.json_response(response)

    async def _chat_stream(
        self, request: web.Request, body: dict[str, Any], said: Answer, count: int
    ) -> web.StreamResponse:
        model = body["model"]
        kind = behaviour(model)
        style, ids = kind, itertools.count(1)
        stream = await self.event_stream(request)
        opening, steps, finish = _deltas(said)
        try:
            await self._send(stream, _chunk(model, opening), style, ids)
            for index, delta in enumerate(steps):
                if await self.interrupt(request, model, index):
                    return stream
                if kind == "errorevent" and index == DROP_AT:
                    failure = {"message": f"overloaded (key {CREDENTIAL})", "type": "server_error"}
                    await self._send(stream, {"error": failure}, style, ids)
                    return stream
                await self._send(stream, _chunk(model, delta), style, ids)
            await self._send(stream, _chunk(model, {}, finish), style, ids)
            options = body.get("stream_options") or {}
            if kind != "nousage" and options.get("include_usage"):
                usage_chunk = {**_chunk(model, {}), "choices": [], "usage": _usage(kind, count)}
                await self._send(stream, usage_chunk, style, ids)
            await self._send(stream, "[DONE]", style, ids)
        except (asyncio.CancelledError, ConnectionResetError):
            self.seen.cancelled += 1
            raise
        return stream

    async def _send(
        self, stream: web.StreamResponse, payload: Any, style: str, ids: Iterator[int]
    ) -> None:
        for number, part in enumerate(_frame(payload, style, ids)):
            if number:
                await asyncio.sleep(SPLIT_PAUSE)
            await stream.write(part)

    async def _responses(self, request: web.Request) -> web.StreamResponse:
        """OpenAI's Responses API. A `previous_response_id` is refused as OpenAI refuses one
        it never issued: the fake keeps no conversations, the hub must send the context."""
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        body = admitted
        if body.get("previous_response_id"):
            message = f"Previous response with id '{body['previous_response_id']}' not found."
            return _error(400, message)
        if "input" not in body:
            return _error(400, "Missing required parameter: 'input'.")
        count, kind = _count(body), behaviour(body["model"])
        said = responses.answer(body, count)
        usage = None
        if kind != "nousage":
            cached = CACHED_TOKENS if kind == "cached" else 0
            reasoning = min(REASONING_TOKENS, count) if kind == "cached" else 0
            usage = responses.usage(PROMPT_TOKENS, count, cached, reasoning)
        if body.get("stream"):
            return await self._responses_stream(request, body, said, usage)
        if kind == "drop":
            request.transport.close()  # type: ignore[union-attr]
            return web.Response(status=200)
        output = responses.output_items(said, TOOL_CALL_ID)
        return web.json_response(responses.response(body, "completed", output, usage))

    async def _responses_stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        said: Answer,
        usage: dict[str, Any] | None,
    ) -> web.StreamResponse:
        model = body["model"]
        head, deltas, tail = responses.stream_parts(body, said, TOOL_CALL_ID, usage)
        numbers = itertools.count()
        stream = await self.event_stream(request)
        try:
            for event in head:
                await stream.write(responses.frame(event, next(numbers)))
            for index, event in enumerate(deltas):
                if await self.interrupt(request, model, index):
                    return stream
                if behaviour(model) == "errorevent" and index == DROP_AT:
                    message = f"The server is overloaded (key {CREDENTIAL})"
                    failure = {"type": "error", "code": "server_error", "message": message}
                    await stream.write(responses.frame({**failure, "param": None}, next(numbers)))
                    return stream
                await stream.write(responses.frame(event, next(numbers)))
            for event in tail:
                await stream.write(responses.frame(event, next(numbers)))
        except (asyncio.CancelledError, ConnectionResetError):
            self.seen.cancelled += 1
            raise
        return stream

    async def _embeddings(self, request: web.Request) -> web.Response:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        inputs = admitted["input"]
        items = inputs if isinstance(inputs, list) else [inputs]
        tokens = EMBEDDING_TOKENS_PER_INPUT * len(items)
        return web.json_response(
            {
                "object": "list",
                "model": admitted["model"],
                "data": [
                    {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                    for i in range(len(items))
                ],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
