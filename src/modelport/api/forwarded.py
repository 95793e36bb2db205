"""Who the client is behind a trusted proxy, and over which scheme, for every surface at once.

When the direct peer is one of `MODELPORT_TRUSTED_PROXIES`, `scope["client"]` becomes the
address `X-Forwarded-For` names (`core.addresses.client_address`); from any other peer the
header is ignored. Everything after reads the scope: key allow-lists, the audit log, the
access log, the sign-in throttle. `X-Forwarded-Proto` sets `scope["scheme"]` (so cookies
are Secure behind a TLS proxy) from the same peers, or from loopback while the setting is
empty, as uvicorn did. This replaces uvicorn's proxy headers, which trusted 127.0.0.1 for
both by default, so that one setting decides whichever server runs the app.
"""

from __future__ import annotations

from ipaddress import ip_network

from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.core.addresses import Networks, client_address, parse_address, within

SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}
"""The scheme an `X-Forwarded-Proto` value gives http and websocket requests."""


LOOPBACK: Networks = (ip_network("127.0.0.0/8"), ip_network("::1/128"))
MAX_PEERS = 4096
"""Peers whose standing is remembered; past this many the memory starts over."""


class TrustedProxyMiddleware:
    def __init__(self, app: ASGIApp, *, trusted: Networks) -> None:
        self.app = app
        self._trusted = trusted
        self._scheme_from = trusted or LOOPBACK
        self._peers: dict[str, tuple[bool, bool]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and peer:
            scheme_from, forwarded_for = self._standing(peer[0])
            if scheme_from:
                self._rewrite(scope, peer[0], forwarded_for=forwarded_for)
        await self.app(scope, receive, send)

    def _standing(self, peer: str) -> tuple[bool, bool]:
        """Whether `peer` may set the scheme, and the client's address. Remembered per peer:
        testing an address against networks took about 7% of a /v1 request's CPU."""
        standing = self._peers.get(peer)
        if standing is None:
            if len(self._peers) >= MAX_PEERS:
                self._peers.clear()
            address = parse_address(peer)
            standing = within(address, self._scheme_from), within(address, self._trusted)
            self._peers[peer] = standing
        return standing

    def _rewrite(self, scope: Scope, peer: str, *, forwarded_for: bool) -> None:
        forwarded: list[str] = []
        proto: str | None = None
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1")
        if forwarded_for:
            client = client_address(peer, forwarded, self._trusted)
            if client != peer:
                scope["client"] = None if client is None else (client, 0)
        if proto is not None:
            schemes = SCHEMES.get(proto.split(",")[-1].strip().lower())
            if schemes is not None:
                scope["scheme"] = schemes[scope["type"] == "websocket"]
