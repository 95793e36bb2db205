"""A forward HTTP proxy for the upstream client's tests: a real server, on 127.0.0.1.

It does what proxies do: `CONNECT host:port` opens a tunnel and relays bytes both ways (what
it relays, TLS included, it keeps in `relayed`); a request in absolute form
(`POST http://host:port/path HTTP/1.1`) is sent on to that host in origin form, without the
`Proxy-Authorization` line, and its answer relayed back. When `credential` is set, a request
without `Proxy-Authorization: Basic <that>` gets 407. It records what it saw.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit


@dataclass
class Proxy:
    """What the proxy saw; `url` is its address (with `user:password@` when it asks one)."""

    credential: tuple[str, str] | None = None
    url: str = ""
    tunnels: list[str] = field(default_factory=list)
    """The `host:port` of each CONNECT it accepted."""
    forwarded: list[bytes] = field(default_factory=list)
    """The head of each absolute-form request, as the client sent it."""
    proxy_authorizations: list[str | None] = field(default_factory=list)
    relayed: bytearray = field(default_factory=bytearray)
    """Every byte a client sent through a tunnel."""
    refused: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(b"CONNECT "):
                await self._tunnel(head, reader, writer)
            else:
                await self._forward(head, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _allowed(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        given = next(
            (
                line.split(":", 1)[1].strip()
                for line in lines
                if line.lower().startswith("proxy-authorization:")
            ),
            None,
        )
        self.proxy_authorizations.append(given)
        if self.credential is None:
            return True
        expected = "Basic " + base64.b64encode(":".join(self.credential).encode()).decode()
        if given == expected:
            return True
        self.refused += 1
        writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
        return False

    async def _tunnel(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if not self._allowed(head, writer):
            await writer.drain()
            return
        target = head.split(b" ")[1].decode()
        host, _, port = target.rpartition(":")
        upstream_reader, upstream_writer = await asyncio.open_connection(
            host.strip("[]"), int(port)
        )
        self.tunnels.append(target)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _relay_both(reader, writer, upstream_reader, upstream_writer, self.relayed)

    async def _forward(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Absolute-form requests on one client connection, all to the first one's host."""
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        back: asyncio.Task[None] | None = None
        try:
            while True:
                if not self._allowed(head, writer):
                    await writer.drain()
                    return
                self.forwarded.append(head)
                method, url, rest = head.split(b" ", 2)
                parts = urlsplit(url.decode())
                if upstream is None:
                    assert parts.hostname is not None
                    upstream = await asyncio.open_connection(parts.hostname, parts.port or 80)
                    back = asyncio.create_task(_pipe(upstream[0], writer))
                lines = [
                    line
                    for line in rest.split(b"\r\n")
                    if not line.lower().startswith(b"proxy-authorization:")
                ]
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in lines
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                origin_form = (
                    method + b" " + (parts.path or "/").encode() + b" " + b"\r\n".join(lines)
                )
                upstream[1].write(origin_form + await reader.readexactly(length))
                head = await reader.readuntil(b"\r\n\r\n")
        finally:
            if back is not None:
                back.cancel()
            if upstream is not None:
                upstream[1].close()


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, into: bytearray | None = None
) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            if into is not None:
                into.extend(data)
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.write_eof()


async def _relay_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
    into: bytearray,
) -> None:
    try:
        await asyncio.gather(
            _pipe(client_reader, upstream_writer, into), _pipe(upstream_reader, client_writer)
        )
    finally:
        upstream_writer.close()


@asynccontextmanager
async def proxy(credential: tuple[str, str] | None = None) -> AsyncIterator[Proxy]:
    """A proxy on 127.0.0.1 and a free port; its `url` carries `credential` when it asks one."""
    recorded = Proxy(credential)
    listening = await asyncio.start_server(recorded.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    userinfo = ""
    if credential is not None:
        userinfo = f"{quote(credential[0], safe='')}:{quote(credential[1], safe='')}@"
    recorded.url = f"http://{userinfo}127.0.0.1:{port}"
    async with listening:
        yield recorded
