"""An upstream that answers with scripted bytes: for framings and misbehaviour no real
provider should show, but some do (a real HTTP server, like the other fakes).

Each script has a name; a catalog entry reaches it with the base URL `url_of(name)`, so one
server plays many upstreams. The server writes the script's pieces one by one (a pause
between them), so a test decides exactly how the bytes are split across reads. `{key}` in a
piece becomes the credential the request carried, for upstreams that echo it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.support.catalog import CREDENTIAL_ENV, write_test_catalog
from tests.support.databases import sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.ports import free_port
from tests.support.upstream import CREDENTIAL


@dataclass(frozen=True)
class Script:
    pieces: list[bytes]
    status: int = 200
    content_type: str = "text/event-stream"
    pause: float = 0.005
    headers: dict[str, str] = field(default_factory=dict)
    """More response headers (`Retry-After`, say)."""


@dataclass
class ScriptedUpstream:
    loop: BackgroundLoop
    scripts: dict[str, Script]
    port: int = field(default_factory=free_port)
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    """(script name, body) of every request, in order."""
    _runner: web.AppRunner | None = None

    def url_of(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}/v1"

    def start(self) -> None:
        self.loop.run(self._start())

    def stop(self) -> None:
        if self._runner is not None:
            self.loop.run(self._runner.cleanup())

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{name}/v1/{path:.*}", self._answer)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append((name, await request.read()))
        script = self.scripts[name]
        credential = request.headers.get("Authorization", "").removeprefix("Bearer ")
        credential = credential or request.headers.get("x-api-key", "")
        response = web.StreamResponse(
            status=script.status, headers={"Content-Type": script.content_type, **script.headers}
        )
        await response.prepare(request)
        try:
            for piece in script.pieces:
                await response.write(piece.replace(b"{key}", credential.encode()))
                await asyncio.sleep(script.pause)
            await response.write_eof()
        except ConnectionResetError:
            pass  # the hub hung up first (after an error event, say): nothing left to send
        return response


@contextmanager
def hub_on(
    scripts: dict[str, Script], loop: BackgroundLoop, folder: Path
) -> Iterator[tuple[Hub, ScriptedUpstream]]:
    """A hub of its own (SQLite) whose model `s-<name>` is served by script `name`."""
    upstream = ScriptedUpstream(loop, scripts)
    upstream.start()
    more = {f"s-{name}": upstream.url_of(name) for name in scripts}
    catalog = write_test_catalog(folder / "catalog.toml", upstream.url_of("unused"), more)
    env = {"MODELPORT_CATALOG": str(catalog), CREDENTIAL_ENV: CREDENTIAL}
    hub = Hub(sqlite_url(folder), folder / "hub", loop, env)
    hub.start()
    try:
        yield hub, upstream
    finally:
        hub.stop()
        upstream.stop()
