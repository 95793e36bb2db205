"""Forward proxies for upstream calls: which upstream goes through one, and the CONNECT tunnel.

The rules are curl's, from `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` (the settings read
them): an https upstream goes through `HTTPS_PROXY`, a plain http one through `HTTP_PROXY`,
unless `NO_PROXY` names its host. An https upstream is reached through a CONNECT tunnel and
TLS to the upstream inside it, so the proxy sees the upstream's host and port and nothing
else. A plain http upstream's requests go to the proxy whole, credential included: that is
what a plain http proxy is. The proxy's own credential (`user:password@` in its URL) goes only
to the proxy, in `Proxy-Authorization`.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from modelport.errors import UpstreamError
from modelport.providers.dial import dial

UNREACHABLE = "The proxy cannot be reached: connection refused or unreachable."
MAX_HEAD = 16 * 1024
"""The longest answer head to a CONNECT the client reads."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Proxy:
    """A forward proxy: where it listens, and the header lines that carry its credential."""

    host: str
    port: int
    head: str = field(default="", repr=False)
    """`Proxy-Authorization: Basic ...` and its CRLF, or nothing."""

    @classmethod
    def of(cls, url: str) -> Proxy:
        """The proxy a `HTTPS_PROXY`-style URL names (`http://[user:password@]host[:port]`;
        without a scheme, http). Raises ValueError, naming no credential, if it is unusable."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        try:
            port = parts.port or 80
        except ValueError:
            raise ValueError("the proxy URL has an invalid port") from None
        if parts.scheme != "http":
            raise ValueError(
                f"the proxy URL must be http:// (a {parts.scheme}:// proxy is not supported)"
            )
        if not parts.hostname:
            raise ValueError("the proxy URL has no host")
        head = ""
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            head = f"Proxy-Authorization: Basic {base64.b64encode(pair.encode()).decode()}\r\n"
        return cls(parts.hostname, port, head)


@dataclass(frozen=True, slots=True)
class _Exception:
    """One `NO_PROXY` entry: a domain (and its subdomains), an address or a network."""

    domain: str | None
    network: Network | None
    port: int | None

    @classmethod
    def of(cls, entry: str) -> _Exception:
        host, port = entry, None
        if entry.startswith("["):  # [v6]:port
            host, _, rest = entry[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
        elif entry.count(":") == 1:  # host:port (a bare IPv6 address has more colons)
            name, _, number = entry.partition(":")
            if number.isdigit():
                host, port = name, int(number)
        try:
            return cls(None, ipaddress.ip_network(host, strict=False), port)
        except ValueError:
            return cls(host.lstrip(".").rstrip("."), None, port)

    def matches(self, host: str, address: Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address in self.network
        assert self.domain is not None
        return host == self.domain or host.endswith("." + self.domain)


@dataclass(frozen=True, slots=True)
class ProxyRules:
    """Which proxy, if any, each upstream goes through."""

    http: Proxy | None = None
    https: Proxy | None = None
    everything_direct: bool = False
    exceptions: tuple[_Exception, ...] = ()

    @classmethod
    def of(
        cls, *, http: str | None = None, https: str | None = None, no_proxy: str | None = None
    ) -> ProxyRules:
        """The rules from the variables' values. `NO_PROXY` is a comma-separated list of
        host names (each with its subdomains; a leading dot changes nothing), IP addresses,
        CIDR networks, each with an optional `:port`; `*` alone means no proxy at all.
        Raises ValueError if a proxy URL is unusable."""
        entries = [e.strip().lower() for e in (no_proxy or "").split(",") if e.strip()]
        return cls(
            _proxy("HTTP_PROXY", http),
            _proxy("HTTPS_PROXY", https),
            "*" in entries,
            tuple(_Exception.of(e) for e in entries if e != "*"),
        )

    def for_origin(self, host: str, port: int, *, tls: bool) -> Proxy | None:
        """The proxy for an upstream at `host` (a name or an address) and `port`, or None."""
        proxy = self.https if tls else self.http
        if proxy is None or self.everything_direct:
            return None
        name = host.lower().rstrip(".")
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            address = None
        if any(e.matches(name, address, port) for e in self.exceptions):
            return None
        return proxy


def _proxy(variable: str, url: str | None) -> Proxy | None:
    try:
        return Proxy.of(url) if url else None
    except ValueError as exc:
        raise ValueError(f"{variable}: {exc}") from None


class _Tunnel(asyncio.Protocol):
    """The proxy's answer to CONNECT: its head, read to the blank line."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.answered: asyncio.Future[int] = loop.create_future()
        self._head = b""

    def data_received(self, data: bytes) -> None:
        if self.answered.done():
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD:
                self.answered.set_exception(UpstreamError("The proxy sent an invalid answer."))
            return
        status_line = self._head[: self._head.find(b"\r\n")].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            self.answered.set_exception(UpstreamError("The proxy sent an invalid answer."))
        elif end + 4 != len(self._head):
            # The upstream cannot have spoken yet: it waits for our TLS hello.
            self.answered.set_exception(UpstreamError("The proxy sent more than its answer."))
        else:
            self.answered.set_result(int(status_line[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answered.done():
            self.answered.set_exception(
                UpstreamError("The proxy closed the connection before the tunnel was open.")
            )


async def open_tunnel(
    loop: asyncio.AbstractEventLoop, proxy: Proxy, host_port: str
) -> asyncio.Transport:
    """Connect to the proxy and ask it for a tunnel to `host_port`; the transport once it is
    open. Raises OSError if the proxy cannot be reached, UpstreamError if it refuses (naming
    its status) or breaks off; the caller bounds the wait."""
    transport, tunnel = await dial(loop, lambda: _Tunnel(loop), proxy.host, proxy.port)
    try:
        transport.write(
            f"CONNECT {host_port} HTTP/1.1\r\nHost: {host_port}\r\n{proxy.head}\r\n".encode(
                "latin-1"
            )
        )
        status = await tunnel.answered
        if not 200 <= status < 300:
            reason = " (proxy authentication required)" if status == 407 else ""
            raise UpstreamError(
                f"The proxy refused the tunnel to the upstream provider: HTTP {status}{reason}."
            )
    except BaseException:
        transport.abort()
        raise
    return transport
