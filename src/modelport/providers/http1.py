"""One keep-alive HTTP/1.1 client connection on asyncio and httptools (uvicorn's parser).

The transport under `UpstreamClient`: it writes a request, parses the response as it arrives
(Content-Length, chunked, or to the end of the connection; gzip and deflate decoded), keeps
its headers, stops reading while too much of it waits, and fails the response on a broken
connection, on silence longer than the read timeout, or when more of it waits than the
body cap (decompressed bit by bit, so a gzip bomb never inflates past the cap). What a
failure says never contains request headers.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

from modelport import __version__
from modelport.errors import UpstreamError
from modelport.providers.proxy import Proxy

HIGH_WATER = 256 * 1024
"""Stop reading from the upstream while this much of its answer waits for the client."""


class Broken(Exception):
    """The connection failed; `reason` is short and cannot contain request headers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TooLarge(Broken):
    """More of the answer waits to be read than the body cap allows."""


class TimedOut(Exception):
    """The upstream was silent for longer than the read timeout."""


def size_text(size: int) -> str:
    """`67108864` -> "64 MiB", `65536` -> "64 KiB", other sizes in bytes."""
    if size >= 1 << 20 and not size & 0xFFFFF:
        return f"{size >> 20} MiB"
    return f"{size >> 10} KiB" if size >= 1 << 10 and not size & 0x3FF else f"{size} bytes"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a base URL's requests go, and what the request line and Host header carry.

    Through a proxy, an https origin is reached by a CONNECT tunnel and its requests are as
    without one; a plain http origin's requests go to the proxy with the absolute URL on the
    request line (`target_prefix`) and the proxy's credential (`proxy_head`).
    """

    host: str
    port: int
    tls: bool
    host_header: str
    target_prefix: str
    """What precedes the request's path on the request line: the base URL's path, or for a
    plain http origin through a proxy, the base URL without its query."""
    name: str
    """`scheme://host:port`: the pool's and the metrics' name for it; no credential."""
    proxy: Proxy | None = None
    proxy_head: str = field(default="", repr=False)
    """`Proxy-Authorization` for the proxy, when its URL carries a credential."""

    @classmethod
    def of(cls, base_url: str, proxy: Proxy | None = None) -> Origin:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError("The upstream provider's base URL is not an http(s) URL.")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        host_header = host if parts.port is None else f"{host}:{port}"
        name = f"{parts.scheme}://{host}:{port}"
        if proxy is None or tls:
            return cls(parts.hostname, port, tls, host_header, parts.path, name, proxy)
        absolute = f"http://{host_header}{parts.path}"
        return cls(parts.hostname, port, tls, host_header, absolute, name, proxy, proxy.head)


class Connection(asyncio.Protocol):
    """One keep-alive connection; its current response's head, body and state."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int) -> None:
        self._loop = loop
        self._read_timeout = 0.0
        self._max_body = max_body
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._timer: asyncio.TimerHandle | None = None
        self._heard = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._length_known = False
        self._decoder: zlib._Decompress | None = None
        self._paused = False
        self.closed = False
        self.idle_since = 0.0
        self.status = 0
        self.head_done = False
        self.complete = False
        self.keep_alive = False
        self.failure: Exception | None = None
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.headers: list[tuple[bytes, bytes]] = []
        """The current response's headers, names in lower case, in the order received."""

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._heard = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(Broken("the upstream sent an invalid HTTP response"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        # A body framed by the connection's end is whole only if the connection ended cleanly:
        # not reset, not a TLS error, not our own abort after a failure. (asyncio reports a
        # TLS peer that closes TCP without close_notify as clean too: see the design note.)
        self.closed = True
        clean = exc is None and self.failure is None
        if clean and self.head_done and not self.complete and not self._length_known:
            self.on_message_complete()  # a body that ends when the connection does
        elif not self.complete:
            reason = "the response ended early" if self.head_done else None
            self._fail(Broken(reason or "the server closed the connection"))

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        self.headers.append((name, value))
        if name == b"content-length":
            self._length_known = True
            if value.isdigit() and int(value) > self._max_body:
                self._too_large()
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            self._length_known = True
        elif name == b"content-encoding" and value.strip().lower() in (b"gzip", b"deflate"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # either, by its header

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        if self.status in (204, 304):
            self._length_known = True
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.failure is not None:
            return
        if self._decoder is not None:
            # At most one byte past the cap comes out: the rest stays compressed in the tail.
            body = self._decoder.decompress(body, self._max_body - self.buffered + 1)
            if self._decoder.unconsumed_tail:
                self._too_large()
                return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > self._max_body:
            self._too_large()
            return
        if self.buffered > HIGH_WATER and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.failure is not None:
            return
        if self._decoder is not None:
            rest = self._decoder.flush()
            self.chunks.append(rest)
            self.buffered += len(rest)
            if self.buffered > self._max_body:
                self._too_large()
                return
        self.complete = True
        self._stop_timer()
        self._wake()

    # -- used by the client and the response --------------------------------------------

    def send(self, request: bytes, read_timeout: float) -> None:
        """Write a request and start the read timeout; the previous response is done."""
        assert self._transport is not None
        self.status, self.head_done, self.complete, self.keep_alive = 0, False, False, False
        self._length_known, self._decoder, self.failure = False, None, None
        self.chunks, self.buffered, self.headers = [], 0, []
        self._read_timeout = read_timeout
        self._heard = self._loop.time()
        self._timer = self._loop.call_at(self._heard + self._read_timeout, self._check_silence)
        self._transport.write(request)

    async def wait(self) -> None:
        """Until something new arrives; raises Broken or TimedOut if the response cannot end."""
        if self.failure is not None:
            raise self.failure
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self.failure is not None:
            raise self.failure

    def take(self) -> list[bytes]:
        chunks, self.chunks, self.buffered = self.chunks, [], 0
        return chunks

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed

    def abort(self) -> None:
        self._stop_timer()
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _too_large(self) -> None:
        self.chunks, self.buffered = [], 0
        self._fail(TooLarge(f"the answer is larger than {size_text(self._max_body)}"))
        self.abort()

    def _fail(self, failure: Exception) -> None:
        if self.failure is None:
            self.failure = failure
        self._stop_timer()
        self._wake()

    def _check_silence(self) -> None:
        due = self._heard + self._read_timeout
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check_silence)
            return
        self._timer = None
        self._fail(TimedOut())
        self.abort()  # the upstream stops generating

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def request_bytes(
    origin: Origin, path: str, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """The request's bytes: line, headers (the credential among `headers`) and body.

    Raises UpstreamError, naming no value, if a header would not be a valid header value.
    """
    head = (
        f"POST {origin.target_prefix}{path} HTTP/1.1\r\n"
        f"Host: {origin.host_header}\r\n{origin.proxy_head}"
        f"User-Agent: modelport/{__version__}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    for name, value in headers:
        if "\r" in value or "\n" in value:
            raise UpstreamError("The upstream credential is not a valid header value.")
        head += f"{name}: {value}\r\n"
    try:
        return head.encode("latin-1") + b"\r\n" + body
    except UnicodeEncodeError:
        raise UpstreamError("The upstream credential is not a valid header value.") from None
