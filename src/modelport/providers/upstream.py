"""One pooled HTTP/1.1 client for every upstream, whatever its dialect.

A lean client on asyncio and httptools (the parser uvicorn serves with; the connection is in
`http1`), not aiohttp: measured in bench/gateway.py's setup, aiohttp's client cost about
130 µs of CPU per proxied request and this one about 20 µs (httpx's costs several times
aiohttp's). It does what the data plane needs and no more: POST a JSON body over keep-alive
connections pooled per origin (TLS for https), read the answer whole or as it arrives, with
connect and read timeouts. Its failures become ours here, and the upstream credential goes
nowhere but the headers of the requests it sends (which ones, the dialect says).
docs/design/upstream-client.md says what it deliberately leaves out, and how to go back to
aiohttp.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from modelport import tracing
from modelport.errors import UpstreamError, UpstreamTimeout
from modelport.providers.http1 import Broken, Connection, Origin, TimedOut, request_bytes
from modelport.providers.sse import ServerSentEvent, SseDecoder

IDLE_SECONDS = 15.0
"""A pooled connection idle longer than this is not reused: the server may be closing it."""


Header = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send a request: a base URL, and the headers that carry its credential."""

    base_url: str
    headers: tuple[Header, ...] = field(default=(), repr=False)

    @classmethod
    def bearer(cls, base_url: str, api_key: str | None) -> Target:
        """A target that authenticates with `Authorization: Bearer <api_key>` (if any)."""
        return cls(base_url, (("Authorization", f"Bearer {api_key}"),) if api_key else ())


class UpstreamResponse:
    """An upstream response being received. Read it whole, or as server-sent events."""

    def __init__(self, connection: Connection) -> None:
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
        except TimedOut as exc:
            raise UpstreamTimeout("The upstream provider timed out.") from exc
        except Broken as exc:
            raise UpstreamError(f"The upstream connection failed: {exc.reason}.") from exc
        return b"".join(connection.take())

    async def events(self) -> AsyncIterator[list[ServerSentEvent]]:
        """The server-sent events as they arrive (`providers.sse` decodes them).

        Each item holds the complete events of one arrival, so that what came together can be
        passed on together; an upstream generating slowly sends one event per arrival. An
        event the stream ends in the middle of is discarded, as the standard says.
        """
        connection = self._connection
        decoder = SseDecoder()
        try:
            while True:
                if connection.chunks:
                    events = decoder.feed(b"".join(connection.take()))
                    if events:
                        yield events
                elif connection.complete:
                    break
                else:
                    await connection.wait()
        except TimedOut as exc:
            raise UpstreamTimeout("The upstream provider stopped sending in time.") from exc
        except Broken as exc:
            raise UpstreamError(f"The upstream stream broke off: {exc.reason}.") from exc


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """The client side of TLS: certificates and host names checked, HTTP/1.1 offered by ALPN.

    It trusts the system's certificate authorities (or those `SSL_CERT_FILE`/`SSL_CERT_DIR`
    name instead), and also those in `ca_file` when given. Raises ValueError when `ca_file`
    cannot be read or holds no certificate.
    """
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except ssl.SSLError as exc:
            raise ValueError(f"{ca_file} holds no usable CA certificate ({exc.reason})") from None
        except OSError as exc:
            raise ValueError(f"cannot read the CA file {ca_file}: {exc.strerror}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


class UpstreamClient:
    """The pooled client. `start()` in the app's lifespan, `close()` at shutdown.

    `ca_file` adds certificate authorities to those the system trusts, for upstreams with a
    private CA; building the client raises ValueError if it cannot be loaded.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
        ca_file: Path | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._pool_size = pool_size
        self._idle: dict[Origin, list[Connection]] = {}
        self._origins: dict[str, Origin] = {}
        self._slots: asyncio.Semaphore | None = None
        self._busy = 0
        self._tls = tls_context(ca_file)

    async def start(self) -> None:
        self._slots = asyncio.Semaphore(self._pool_size)

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
        self._idle.clear()
        self._slots = None

    def in_use(self) -> int:
        """Upstream requests holding a connection now (for metrics)."""
        return self._busy

    def idle(self) -> int:
        """Pooled connections waiting for a request now (for metrics)."""
        return sum(len(connections) for connections in self._idle.values())

    @asynccontextmanager
    async def post(self, target: Target, path: str, body: bytes) -> AsyncIterator[UpstreamResponse]:
        """POST `body` (JSON) to `target`'s base URL + `path`; released when the block ends.

        Raises UpstreamTimeout when the upstream does not connect or answer in time, and
        UpstreamError when the connection fails. Cancelling the caller closes the connection,
        which cancels the upstream request. At most `pool_size` requests run at once.
        """
        if self._slots is None:
            raise RuntimeError("UpstreamClient.start() was not called")
        origin = self._origin(target.base_url)
        span = tracing.upstream_span(origin.host, origin.port, origin.path_prefix + path)
        headers = target.headers if span is None else (*target.headers, *span.headers)
        request = request_bytes(origin, path, headers, body)
        failure: BaseException | None = None
        try:
            async with self._slots:
                connection = await self._connection(origin)
                self._busy += 1
                try:
                    connection.send(request)
                    try:
                        while not connection.head_done:
                            await connection.wait()
                    except TimedOut as exc:
                        raise UpstreamTimeout(
                            "The upstream provider did not answer in time."
                        ) from exc
                    except Broken as exc:
                        raise UpstreamError(
                            f"The upstream provider cannot be reached: {exc.reason}."
                        ) from exc
                    if span is not None:
                        span.answered(connection.status)
                    yield UpstreamResponse(connection)
                finally:
                    self._busy -= 1
                    self._release(origin, connection)
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if span is not None:
                span.end(failure)

    def _origin(self, base_url: str) -> Origin:
        origin = self._origins.get(base_url)
        if origin is None:
            origin = self._origins[base_url] = Origin.of(base_url)
        return origin

    async def _connection(self, origin: Origin) -> Connection:
        """A pooled connection to `origin` that is still fresh, or a new one."""
        loop = asyncio.get_running_loop()
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed and loop.time() - connection.idle_since < IDLE_SECONDS:
                return connection
            connection.abort()
        tls = self._tls if origin.tls else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, self._read_timeout),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError as exc:
            raise UpstreamTimeout("The upstream provider did not answer in time.") from exc
        except ssl.SSLCertVerificationError as exc:
            raise UpstreamError(
                f"The upstream provider's TLS certificate was refused: {_refusal(exc)}."
            ) from exc
        except ssl.SSLError as exc:
            raise UpstreamError(
                "The upstream provider cannot be reached: the TLS handshake failed."
            ) from exc
        except OSError as exc:
            raise UpstreamError(
                "The upstream provider cannot be reached: connection refused or unreachable."
            ) from exc
        return connection

    def _release(self, origin: Origin, connection: Connection) -> None:
        """Pool the connection if its response was read to the end; otherwise close it."""
        if connection.reusable():
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.abort()


def _refusal(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's reason without the host name ("Hostname mismatch", "certificate has expired")."""
    reason = str(exc.verify_message or "certificate verify failed")
    return reason.split(",")[0].rstrip(".")
