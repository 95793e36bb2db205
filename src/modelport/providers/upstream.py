"""One pooled HTTP/1.1 client for every OpenAI-compatible upstream.

A lean client on asyncio and httptools (the parser uvicorn serves with), not aiohttp: measured
in bench/gateway.py's setup, aiohttp's client cost about 130 µs of CPU per proxied request
and this one about 20 µs (httpx's costs several times aiohttp's). It does what the data
plane needs and no more: POST a JSON body over keep-alive connections pooled per origin
(TLS for https), read the answer whole or as it arrives, with connect and read timeouts.
Its failures become ours here, and the upstream credential never leaves this module except
in the Authorization header it sends.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

from modelport import __version__
from modelport.errors import UpstreamError, UpstreamTimeout

SSE_SEPARATOR = b"\n\n"
IDLE_SECONDS = 15.0
"""A pooled connection idle longer than this is not reused: the server may be closing it."""
HIGH_WATER = 256 * 1024
"""Stop reading from the upstream while this much of its answer waits for the client."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send a request: an OpenAI-compatible base URL and its credential."""

    base_url: str
    api_key: str | None = field(repr=False)


class _Broken(Exception):
    """The connection failed; `reason` is short and cannot contain request headers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TimedOut(Exception):
    """The upstream was silent for longer than the read timeout."""


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a base URL's requests go, and what the request line and Host header carry."""

    host: str
    port: int
    tls: bool
    host_header: str
    path_prefix: str

    @classmethod
    def of(cls, base_url: str) -> _Origin:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamError("The upstream provider's base URL is not an http(s) URL.")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        host_header = host if parts.port is None else f"{host}:{port}"
        return cls(parts.hostname, port, tls, host_header, parts.path)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; its current response's head, body and state."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._timer: asyncio.TimerHandle | None = None
        self._heard = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._header_name = b""
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

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._heard = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(_Broken("the upstream sent an invalid HTTP response"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_done and not self.complete and not self._length_known:
            self.on_message_complete()  # a body that ends when the connection does
        elif not self.complete:
            reason = "the response ended early" if self.head_done else None
            self._fail(_Broken(reason or "the server closed the connection"))

    # -- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length" or (
            name == b"transfer-encoding" and b"chunked" in value.lower()
        ):
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
        if self._decoder is not None:
            body = self._decoder.decompress(body)
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._decoder is not None:
            self.chunks.append(self._decoder.flush())
        self.complete = True
        self._stop_timer()
        self._wake()

    # -- used by the client and the response --------------------------------------------

    def send(self, request: bytes) -> None:
        """Write a request and start the read timeout; the previous response is done."""
        assert self._transport is not None
        self.status, self.head_done, self.complete, self.keep_alive = 0, False, False, False
        self._length_known, self._decoder, self.failure = False, None, None
        self.chunks, self.buffered = [], 0
        self._heard = self._loop.time()
        self._timer = self._loop.call_at(self._heard + self._read_timeout, self._check_silence)
        self._transport.write(request)

    async def wait(self) -> None:
        """Until something new arrives; raises _Broken or _TimedOut if the response cannot end."""
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
        self._fail(_TimedOut())
        self.abort()  # the upstream stops generating

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class UpstreamResponse:
    """An upstream response being received. Read it whole, or as server-sent events."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self.status = connection.status

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    async def read(self) -> bytes:
        """The whole body; UpstreamError/UpstreamTimeout if it breaks off."""
        connection = self._connection
        try:
            while not connection.complete:
                await connection.wait()
        except _TimedOut as exc:
            raise UpstreamTimeout("The upstream provider timed out.") from exc
        except _Broken as exc:
            raise UpstreamError(f"The upstream connection failed: {exc.reason}.") from exc
        return b"".join(connection.take())

    async def events(self) -> AsyncIterator[list[bytes]]:
        """The server-sent events as they arrive, without their trailing blank lines.

        Each item holds the complete events of one arrival, so that what came together can be
        passed on together; an upstream generating slowly sends one event per arrival.
        """
        connection = self._connection
        buffer = b""
        try:
            while True:
                if connection.chunks:
                    buffer = (buffer + b"".join(connection.take())).replace(b"\r\n", b"\n")
                    *complete, buffer = buffer.split(SSE_SEPARATOR)
                    events = [event for event in complete if event]
                    if events:
                        yield events
                elif connection.complete:
                    break
                else:
                    await connection.wait()
        except _TimedOut as exc:
            raise UpstreamTimeout("The upstream provider stopped sending in time.") from exc
        except _Broken as exc:
            raise UpstreamError(f"The upstream stream broke off: {exc.reason}.") from exc
        if buffer.strip():
            yield [buffer.strip()]


class UpstreamClient:
    """The pooled client. `start()` in the app's lifespan, `close()` at shutdown."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, pool_size: int) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._pool_size = pool_size
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._origins: dict[str, _Origin] = {}
        self._slots: asyncio.Semaphore | None = None
        self._tls: ssl.SSLContext | None = None

    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self._pool_size)

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()
        self._slots = None

    @asynccontextmanager
    async def post(self, target: Target, path: str, body: bytes) -> AsyncIterator[UpstreamResponse]:
        """POST `body` (JSON) to `target`; the response is released when the block ends.

        Raises UpstreamTimeout when the upstream does not connect or answer in time, and
        UpstreamError when the connection fails. Cancelling the caller closes the connection,
        which cancels the upstream request. At most `pool_size` requests run at once.
        """
        if self._slots is None:
            raise RuntimeError("UpstreamClient.start() was not called")
        origin = self._origin(target.base_url)
        request = _request(origin, path, target.api_key, body)
        async with self._slots:
            connection = await self._connection(origin)
            try:
                connection.send(request)
                try:
                    while not connection.head_done:
                        await connection.wait()
                except _TimedOut as exc:
                    raise UpstreamTimeout("The upstream provider did not answer in time.") from exc
                except _Broken as exc:
                    raise UpstreamError(
                        f"The upstream provider cannot be reached: {exc.reason}."
                    ) from exc
                yield UpstreamResponse(connection)
            finally:
                self._release(origin, connection)

    def _origin(self, base_url: str) -> _Origin:
        origin = self._origins.get(base_url)
        if origin is None:
            origin = self._origins[base_url] = _Origin.of(base_url)
        return origin

    async def _connection(self, origin: _Origin) -> _Connection:
        """A pooled connection to `origin` that is still fresh, or a new one."""
        loop = asyncio.get_running_loop()
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed and loop.time() - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.abort()
        tls = self._tls_context() if origin.tls else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._read_timeout),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError as exc:
            raise UpstreamTimeout("The upstream provider did not answer in time.") from exc
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamError(
                "The upstream provider cannot be reached: connection refused or unreachable."
            ) from exc
        return connection

    def _release(self, origin: _Origin, connection: _Connection) -> None:
        """Pool the connection if its response was read to the end; otherwise close it."""
        if connection.reusable():
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.abort()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _request(origin: _Origin, path: str, api_key: str | None, body: bytes) -> bytes:
    """The request's bytes: line, headers (the credential among them) and body."""
    head = (
        f"POST {origin.path_prefix}{path} HTTP/1.1\r\n"
        f"Host: {origin.host_header}\r\n"
        f"User-Agent: modelport/{__version__}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if api_key:
        if "\r" in api_key or "\n" in api_key:
            raise UpstreamError("The upstream credential is not a valid header value.")
        head += f"Authorization: Bearer {api_key}\r\n"
    try:
        return head.encode("latin-1") + b"\r\n" + body
    except UnicodeEncodeError:
        raise UpstreamError("The upstream credential is not a valid header value.") from None
