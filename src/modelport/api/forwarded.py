"""Who the client is behind a trusted proxy, for every surface at once.

When the direct peer is one of `MODELPORT_TRUSTED_PROXIES`, `scope["client"]` becomes the
address `X-Forwarded-For` names (`core.addresses.client_address`) and `scope["scheme"]`
the one `X-Forwarded-Proto` names; from any other peer both headers are ignored. Everything
after reads the scope: key allow-lists, the audit log, the access log, the sign-in
throttle. It replaces uvicorn's own proxy headers (which trusted 127.0.0.1 by default), so
that one setting decides, whichever server runs the app. Installed only when the setting
is not empty, so it costs nothing otherwise.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.core.addresses import Networks, client_address, parse_address, within

SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}
"""The scheme an `X-Forwarded-Proto` value gives http and websocket requests."""


class TrustedProxyMiddleware:
    def __init__(self, app: ASGIApp, *, trusted: Networks) -> None:
        self.app = app
        self._trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if (
            scope["type"] in ("http", "websocket")
            and peer
            and within(parse_address(peer[0]), self._trusted)
        ):
            forwarded: list[str] = []
            proto: str | None = None
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1")
            client = client_address(peer[0], forwarded, self._trusted)
            if client != peer[0]:
                scope["client"] = None if client is None else (client, 0)
            if proto is not None:
                schemes = SCHEMES.get(proto.split(",")[-1].strip().lower())
                if schemes is not None:
                    scope["scheme"] = schemes[scope["type"] == "websocket"]
        await self.app(scope, receive, send)
