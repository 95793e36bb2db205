"""What the fake model providers share: a real HTTP server, a record of what it was sent, and
the stalls and hang-ups their failure behaviours are made of.

Each fake picks its behaviour from the upstream model name a request carries: the part after
the first dash (`fake-drop` and `claude-drop` both drop the connection mid-stream).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from tests.support.loop import BackgroundLoop
from tests.support.ports import free_port

TOOL_ARGUMENTS = {"city": "Paris", "unit": "celsius"}
"""The arguments every fake tool call carries."""
TOOL_RESULT_PREFIX = "The tool said: "
"""A fake's answer to tool results: this, then the results' text (several joined by newlines)."""
PACE_SECONDS = 0.05
HANG_SECONDS = 30.0
DROP_AT = 2
"""Streams of the `drop` and `errorevent` behaviours stop after this many pieces."""


@dataclass
class Seen:
    """What a fake received, for tests to inspect: the n-th body came to the n-th path with
    the n-th headers (names in lower case), whether or not it was then refused."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    deployments: list[str] = field(default_factory=list)
    """The deployment each Azure-style request named (`/openai/deployments/<name>/...`)."""
    cancelled: int = 0

    def sent_to(self, path: str) -> list[dict[str, Any]]:
        """The bodies posted to `path` (e.g. "/v1/responses"), oldest first."""
        return [body for body, seen in zip(self.bodies, self.paths, strict=True) if seen == path]


def behaviour(model: str) -> str:
    """The behaviour an upstream model name asks for: `fake-paced` -> `paced`."""
    return model.split("-", 1)[-1]


def pieces(text: str, size: int = 5) -> list[str]:
    """`text` cut into pieces of `size` characters, as providers stream arguments and text."""
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def words(text: str) -> list[str]:
    """`text` cut after each word's trailing spaces: "tok tok " -> ["tok ", "tok "]."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text of its text parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


@dataclass(frozen=True)
class Answer:
    """What a fake model says: `text`, or (when `tool` is set) a call of that tool."""

    text: str = ""
    tool: str | None = None


def json_bytes(payload: Any) -> bytes:
    return orjson.dumps(payload)


class FakeServer:
    """Start with `start()`: `root` is the server's address, `url` its `/v1` base URL."""

    def __init__(self, loop: BackgroundLoop, tls: ssl.SSLContext | None = None) -> None:
        self._loop = loop
        self._tls = tls
        self.port = free_port()
        host = "localhost" if tls else "127.0.0.1"
        self.root = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.url = self.root + "/v1"
        self.seen = Seen()
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        self._loop.run(self._start())

    def stop(self) -> None:
        if self._runner is not None:
            self._loop.run(self._runner.cleanup())

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._tls).start()

    async def record(self, request: web.Request) -> dict[str, Any]:
        """The request's JSON body, noted in `seen` with its path and headers."""
        body: dict[str, Any] = await request.json()
        self.seen.bodies.append(body)
        self.seen.paths.append(request.path)
        self.seen.headers.append({name.lower(): value for name, value in request.headers.items()})
        self.seen.authorizations.append(request.headers.get("Authorization"))
        return body

    async def hang(self, request: web.Request, seconds: float = HANG_SECONDS) -> bool:
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

    async def interrupt(self, request: web.Request, model: str, index: int) -> bool:
        """Before the `index`-th piece of a stream: pace it, or cut the stream (True) as the
        model's behaviour says: `drop` hangs up, `slowstream` stalls until the caller does."""
        kind = behaviour(model)
        if kind == "drop" and index == DROP_AT:
            request.transport.close()  # type: ignore[union-attr]
            return True
        if kind == "paced":
            await asyncio.sleep(PACE_SECONDS)
        return kind == "slowstream" and await self.hang(request)

    async def event_stream(self, request: web.Request) -> web.StreamResponse:
        stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await stream.prepare(request)
        return stream
