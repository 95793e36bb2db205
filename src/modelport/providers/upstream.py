"""One pooled HTTP/1.1 client for every upstream, whatever its dialect.

A lean client on asyncio and httptools (the parser uvicorn serves with; the connection is in
`http1`), not aiohttp: it costs a fraction of aiohttp's CPU per proxied request (the figures:
docs/benchmarks.md, "Design decisions and their measurements"). It does what the data plane
needs and no more: POST a JSON body over keep-alive connections pooled per origin, at most so
many in use per origin (`pool`), TLS for https, happy eyeballs for names with IPv6 and IPv4
addresses (`dial`), through a forward proxy when the environment names one (`proxy`); read
the answer whole (up to a cap) or as it arrives, with connect and read timeouts. Its failures
become ours here, and the upstream credential goes nowhere but the headers of the requests it
sends (which ones, the dialect says). docs/design/upstream-client.md says what it
deliberately leaves out, and how to go back to aiohttp.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from modelport import tracing
from modelport.errors import UpstreamBusy, UpstreamError, UpstreamTimeout
from modelport.providers.dial import dial
from modelport.providers.http1 import (
    Broken,
    Connection,
    Origin,
    TimedOut,
    TooLarge,
    request_bytes,
    size_text,
)
from modelport.providers.pool import BUSY, OriginPool
from modelport.providers.proxy import UNREACHABLE, ProxyRules, open_tunnel
from modelport.providers.sse import EventTooLarge, ServerSentEvent, SseDecoder

MAX_BODY = 64 * 1024 * 1024
"""The default cap on an answer read whole, and on one server-sent event."""


Header = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send a request: a base URL, and the headers that carry its credential.

    `max_connections` caps the connections in use to its origin for this target (a
    deployment's own limit; the client's default otherwise), and `timeout` is its read
    timeout in seconds (the longest silence allowed; the client's default otherwise).
    """

    base_url: str
    headers: tuple[Header, ...] = field(default=(), repr=False)
    max_connections: int | None = None
    timeout: float | None = None

    @classmethod
    def bearer(cls, base_url: str, api_key: str | None) -> Target:
        """A target that authenticates with `Authorization: Bearer <api_key>` (if any)."""
        return cls(base_url, (("Authorization", f"Bearer {api_key}"),) if api_key else ())


class UpstreamResponse:
    """An upstream response being received. Read it whole, or as server-sent events."""

    def __init__(self, connection: Connection, max_event: int) -> None:
        self._connection = connection
        self._max_event = max_event
        self.status = connection.status
        self.raw_headers = connection.headers
        """The headers as received: (name in lower case, value) bytes, in order."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """The first value of the header `name` (any case), e.g. `Retry-After`; None if absent."""
        key = name.lower().encode("latin-1")
        for found, value in self.raw_headers:
            if found == key:
                return value.decode("latin-1")
        return None

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header as (name in lower case, value), in order; repeated names repeat."""
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self.raw_headers]

    async def read(self) -> bytes:
        """The whole body; UpstreamError/UpstreamTimeout if it breaks off or passes the cap."""
        connection = self._connection
        try:
            while not connection.complete:
                await connection.wait()
        except TimedOut as exc:
            raise UpstreamTimeout("The upstream provider timed out.") from exc
        except TooLarge as exc:
            raise _too_large(exc.reason) from exc
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
        decoder = SseDecoder(self._max_event)
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
        except EventTooLarge:
            raise _too_large(f"an event is larger than {size_text(self._max_event)}") from None
        except TooLarge as exc:
            raise _too_large(exc.reason) from exc
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

    `max_connections` caps the connections in use per origin (a target may set its own);
    past it a request waits up to `connect_timeout` for one, then fails with UpstreamBusy.
    `max_body` caps an answer read whole and one server-sent event. `ca_file` adds
    certificate authorities to those the system trusts, for upstreams with a private CA;
    `proxies` says which upstreams go through a forward proxy. Building the client raises
    ValueError if the CA file cannot be loaded.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        max_body: int = MAX_BODY,
        ca_file: Path | None = None,
        proxies: ProxyRules | None = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._max_body = max_body
        self._proxies = proxies or ProxyRules()
        self._routes: dict[tuple[str, int | None], tuple[Origin, OriginPool]] = {}
        self._pools: dict[tuple[str, int], OriginPool] = {}
        self._tls = tls_context(ca_file)
        self._started = False

    async def start(self) -> None:
        self._started = True

    async def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._started = False

    def in_use(self) -> dict[str, int]:
        """Connections in use now, per origin (`scheme://host:port`), for /metrics."""
        counts: dict[str, int] = {}
        for pool in self._pools.values():
            counts[pool.name] = counts.get(pool.name, 0) + pool.in_use
        return counts

    def idle(self) -> int:
        """Pooled connections waiting for a request now, every origin together (/metrics)."""
        return sum(len(pool.idle) for pool in self._pools.values())

    @asynccontextmanager
    async def post(self, target: Target, path: str, body: bytes) -> AsyncIterator[UpstreamResponse]:
        """POST `body` (JSON) to `target`'s base URL + `path`; released when the block ends.

        Raises UpstreamBusy when every connection allowed to the origin stays in use for
        the connect timeout, UpstreamTimeout when the upstream does not connect or answer in
        time, and UpstreamError when the connection fails. Cancelling the caller closes the
        connection, which cancels the upstream request.
        """
        if not self._started:
            raise RuntimeError("UpstreamClient.start() was not called")
        route = self._routes.get((target.base_url, target.max_connections))
        if route is None:
            route = self._route(target)
        origin, pool = route
        span = tracing.upstream_span(origin.host, origin.port, path)
        headers = target.headers if span is None else (*target.headers, *span.headers)
        request = request_bytes(origin, path, headers, body)
        failure: BaseException | None = None
        try:
            await pool.acquire(self._connect_timeout)
            connection: Connection | None = None
            try:
                connection = pool.reuse(asyncio.get_running_loop().time())
                if connection is None:
                    connection = await self._connect(origin)
                connection.send(request, target.timeout or self._read_timeout)
                try:
                    while not connection.head_done:
                        await connection.wait()
                except TimedOut as exc:
                    raise UpstreamTimeout("The upstream provider did not answer in time.") from exc
                except TooLarge as exc:
                    raise _too_large(exc.reason) from exc
                except Broken as exc:
                    raise UpstreamError(
                        f"The upstream provider cannot be reached: {exc.reason}."
                    ) from exc
                if span is not None:
                    span.answered(connection.status)
                yield UpstreamResponse(connection, self._max_body)
            finally:
                if connection is not None:
                    if connection.reusable():
                        pool.keep(connection, asyncio.get_running_loop().time())
                    else:
                        connection.abort()
                pool.release()
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if span is not None:
                span.end(failure)

    def _route(self, target: Target) -> tuple[Origin, OriginPool]:
        """The origin of a base URL and the pool for its limit, made on first use."""
        origin = Origin.of(target.base_url)
        proxy = self._proxies.for_origin(origin.host, origin.port, tls=origin.tls)
        if proxy is not None:
            origin = Origin.of(target.base_url, proxy)
        limit = target.max_connections or self._max_connections
        pool = self._pools.get((origin.name, limit))
        if pool is None:
            pool = self._pools[origin.name, limit] = OriginPool(origin.name, limit)
        route = self._routes[target.base_url, target.max_connections] = (origin, pool)
        return route

    async def _connect(self, origin: Origin) -> Connection:
        """A new connection to `origin` (through its proxy, if any), TLS for https."""
        loop = asyncio.get_running_loop()
        connection = Connection(loop, self._max_body)
        tls = self._tls if origin.tls else None
        hostname = origin.host if tls else None
        try:
            async with asyncio.timeout(self._connect_timeout):
                proxy = origin.proxy
                if proxy is None:
                    await dial(
                        loop,
                        lambda: connection,
                        origin.host,
                        origin.port,
                        ssl=tls,
                        server_hostname=hostname,
                    )
                    return connection
                try:
                    if tls is None:
                        await dial(loop, lambda: connection, proxy.host, proxy.port)
                        return connection
                    raw = await open_tunnel(loop, proxy, origin.name.split("://", 1)[1])
                except OSError as exc:
                    raise _no_connection(exc, UNREACHABLE) from exc
                try:
                    secured = await loop.start_tls(raw, connection, tls, server_hostname=hostname)
                except BaseException:
                    raw.abort()
                    raise
                assert secured is not None
                connection.connection_made(secured)
                return connection
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
            raise _no_connection(
                exc, "The upstream provider cannot be reached: connection refused or unreachable."
            ) from exc


def _no_connection(exc: OSError, message: str) -> UpstreamError:
    """`message`, unless the hub itself is out of file descriptors: then it is busy, and a
    retry (or another replica) may succeed."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return UpstreamBusy(BUSY)
    return UpstreamError(message)


def _too_large(reason: str) -> UpstreamError:
    return UpstreamError(f"The upstream provider's answer is too large: {reason}.")


def _refusal(exc: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's reason without the host name ("Hostname mismatch", "certificate has expired")."""
    reason = str(exc.verify_message or "certificate verify failed")
    return reason.split(",")[0].rstrip(".")
