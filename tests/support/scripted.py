"""Scripted HTTP servers for the upstream client's tests: real sockets, plain or TLS.

A `Scripted` server writes the same bytes back for every request and remembers what it saw:
connections, requests (credential included), and for TLS the server name each handshake
asked for (SNI) and the protocol it chose (ALPN).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from modelport.providers.proxy import ProxyRules
from modelport.providers.upstream import MAX_BODY, UpstreamClient


@dataclass
class Scripted:
    """A server that writes `answer` back for every request, and what it has seen."""

    answer: bytes
    close: bool = False
    """Hang up after each answer."""
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    """The SNI of each TLS handshake (None: the client sent none)."""
    protocols: list[str | None] = field(default_factory=list)
    """The ALPN protocol each TLS connection settled on (None: none offered)."""
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        tls = writer.get_extra_info("ssl_object")
        if tls is not None:
            self.protocols.append(tls.selected_alpn_protocol())
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                self.requests.append(head + await reader.readexactly(length))
                writer.write(self.answer)
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    def _heard_name(self, _: ssl.SSLObject, name: str | None, __: ssl.SSLContext) -> None:
        self.server_names.append(name)


@asynccontextmanager
async def server(
    answer: bytes,
    *,
    close: bool = False,
    tls: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
) -> AsyncIterator[Scripted]:
    """A scripted server on 127.0.0.1 and a free port; its `url` is an OpenAI-style base URL
    naming `host` (which must resolve to 127.0.0.1), https when `tls` is given."""
    scripted = Scripted(answer, close)
    if tls is not None:
        tls.sni_callback = scripted._heard_name
    listening = await asyncio.start_server(scripted.handle, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    scripted.url = f"{'https' if tls else 'http'}://{host}:{port}/v1"
    async with listening:
        yield scripted


@asynccontextmanager
async def client(
    read_timeout: float = 5,
    connect_timeout: float = 2,
    ca_file: Path | None = None,
    *,
    max_connections: int = 4,
    max_body: int = MAX_BODY,
    proxies: ProxyRules | None = None,
) -> AsyncIterator[UpstreamClient]:
    upstream = UpstreamClient(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_connections=max_connections,
        max_body=max_body,
        ca_file=ca_file,
        proxies=proxies,
    )
    await upstream.start()
    try:
        yield upstream
    finally:
        await upstream.close()


def response(body: bytes, *headers: str) -> bytes:
    """A 200 answer's bytes with these header lines."""
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\n{head}\r\n".encode() + body


def chunked(*parts: bytes) -> bytes:
    """`parts` in chunked transfer coding, with the last chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
