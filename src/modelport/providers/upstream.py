"""One pooled aiohttp client for every OpenAI-compatible upstream.

aiohttp's client, not httpx's: measured here, httpx's async client cost 6-10x more CPU per
proxied request. Its exceptions become ours here, and the upstream credential never leaves
this module except in the Authorization header it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp

from modelport.errors import UpstreamError, UpstreamTimeout

SSE_SEPARATOR = b"\n\n"


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send a request: an OpenAI-compatible base URL and its credential."""

    base_url: str
    api_key: str | None = field(repr=False)


class UpstreamResponse:
    """An upstream response being received. Read it whole, or as server-sent events."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self._response.content_type

    async def read(self) -> bytes:
        """The whole body; UpstreamError/UpstreamTimeout if it breaks off."""
        try:
            return await self._response.read()
        except TimeoutError as exc:
            raise UpstreamTimeout("The upstream provider timed out.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"The upstream connection failed: {_reason(exc)}.") from exc

    async def events(self) -> AsyncIterator[bytes]:
        """Each server-sent event as it arrives, without its trailing blank line."""
        buffer = b""
        content = self._response.content
        try:
            while True:
                chunk = await content.readany()
                if not chunk:
                    break
                buffer = (buffer + chunk).replace(b"\r\n", b"\n")
                *complete, buffer = buffer.split(SSE_SEPARATOR)
                for event in complete:
                    if event:
                        yield event
        except TimeoutError as exc:
            raise UpstreamTimeout("The upstream provider stopped sending in time.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"The upstream stream broke off: {_reason(exc)}.") from exc
        if buffer.strip():
            yield buffer.strip()


class UpstreamClient:
    """The pooled client. `start()` in the app's lifespan, `close()` at shutdown."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, pool_size: int) -> None:
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=connect_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, auto_decompress=True
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @asynccontextmanager
    async def post(self, target: Target, path: str, body: bytes) -> AsyncIterator[UpstreamResponse]:
        """POST `body` (JSON) to `target`; the response is released when the block ends.

        Raises UpstreamTimeout when the upstream does not connect or answer in time, and
        UpstreamError when the connection fails. Cancelling the caller closes the connection,
        which cancels the upstream request.
        """
        if self._session is None:
            raise RuntimeError("UpstreamClient.start() was not called")
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if target.api_key:
            headers["Authorization"] = f"Bearer {target.api_key}"
        try:
            response = await self._session.post(target.base_url + path, data=body, headers=headers)
        except TimeoutError as exc:
            raise UpstreamTimeout("The upstream provider did not answer in time.") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"The upstream provider cannot be reached: {_reason(exc)}."
            ) from exc
        try:
            yield UpstreamResponse(response)
        except asyncio.CancelledError:
            response.close()  # drop the connection: the upstream stops generating
            raise
        finally:
            response.release()


def _reason(exc: aiohttp.ClientError) -> str:
    """A short description of a client error that cannot contain request headers."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused or unreachable"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "the response ended early"
    return type(exc).__name__
