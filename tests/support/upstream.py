"""A fake OpenAI-compatible model provider: a real HTTP server the tests start.

Its behaviour is chosen by the upstream model name a request carries, so one server plays
every part: a well-behaved model with known token counts, one that fails, one that hangs,
one that drops the connection, one that reports no usage, one that streams slowly. Given a
server-side `ssl.SSLContext`, it serves HTTPS, at https://localhost:PORT/v1.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.hub import free_port
from tests.support.loop import BackgroundLoop

CREDENTIAL = "sk-fake-upstream-credential-0123456789"
PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
EMBEDDING_TOKENS_PER_INPUT = 5
PACE_SECONDS = 0.05
HANG_SECONDS = 30.0


@dataclass
class Seen:
    """What the fake received, for tests to inspect."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    cancelled: int = 0


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class FakeUpstream:
    """Start with `start()`; `url` is its OpenAI-style base URL (ending in /v1)."""

    def __init__(self, loop: BackgroundLoop, tls: ssl.SSLContext | None = None) -> None:
        self._loop = loop
        self._tls = tls
        self.port = free_port()
        self.url = (
            f"https://localhost:{self.port}/v1" if tls else f"http://127.0.0.1:{self.port}/v1"
        )
        self.seen = Seen()
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        self._loop.run(self._start())

    def stop(self) -> None:
        if self._runner is not None:
            self._loop.run(self._runner.cleanup())

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._tls).start()

    async def _admit(self, request: web.Request) -> dict[str, Any] | web.Response:
        body: dict[str, Any] = await request.json()
        self.seen.bodies.append(body)
        self.seen.authorizations.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Bearer {CREDENTIAL}":
            return _error(
                401, f"Incorrect API key provided: {request.headers.get('Authorization')}"
            )
        model = body["model"]
        if model == "fake-500":
            return _error(500, "the fake upstream is broken")
        if model == "fake-401":
            return _error(401, f"Incorrect API key provided: {CREDENTIAL}")
        if model == "fake-400":
            return _error(400, f"bad parameter (you sent key {CREDENTIAL})")
        if model == "fake-slow" and await self._hang(request, HANG_SECONDS):
            return _error(499, "the caller hung up")
        return body

    async def _hang(self, request: web.Request, seconds: float) -> bool:
        """Stall like a stuck model. True, counted as a cancellation, if the caller hangs up.

        Polls the connection so a hang-up is seen at once (aiohttp does not cancel handlers),
        and no stalled handler outlives the caller to hold up the server's shutdown.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                self.seen.cancelled += 1
                return True
            await asyncio.sleep(0.02)
        return False

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        admitted = await self._admit(request)
        if isinstance(admitted, web.Response):
            return admitted
        body = admitted
        model = body["model"]
        count = int(body.get("max_tokens") or COMPLETION_TOKENS)
        reports_usage = model != "fake-nousage"
        if not body.get("stream"):
            response: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "tok " * count},
                        "finish_reason": "stop",
                    }
                ],
            }
            if reports_usage:
                response["usage"] = _usage(PROMPT_TOKENS, count)
            if model == "fake-drop":
                request.transport.close()  # type: ignore[union-attr]
                return web.Response(status=200)
            return web.json_response(response)
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        try:
            await stream.write(_chunk(model, {"role": "assistant", "content": ""}))
            for index in range(count):
                if model == "fake-drop" and index == 2:
                    request.transport.close()  # type: ignore[union-attr]
                    return stream
                if model == "fake-paced":
                    await asyncio.sleep(PACE_SECONDS)
                if model == "fake-slowstream" and await self._hang(request, HANG_SECONDS):
                    return stream
                await stream.write(_chunk(model, {"content": "tok "}))
            await stream.write(_chunk(model, {}, finish="stop"))
            options = body.get("stream_options") or {}
            if reports_usage and options.get("include_usage"):
                usage_chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": model,
                    "choices": [],
                    "usage": _usage(PROMPT_TOKENS, count),
                }
                await stream.write(b"data: " + orjson.dumps(usage_chunk) + b"\n\n")
            await stream.write(b"data: [DONE]\n\n")
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


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "fake_error", "code": None}}, status=status
    )
