"""Counting requests in flight, and refusing new ones while the process drains.

Every HTTP request is counted, so that the drain knows when nothing is left running. While
draining, a new request gets 503 with `Connection: close`: `/v1` in its API's error shape (the
data plane's own check), the rest in DigitalOcean's. Health, readiness and metrics still
answer: `/readyz` says `draining`, so load balancers stop sending.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.api.context import OPS_PATHS
from modelport.api.v2_guards import send_v2_error
from modelport.drain import Drain

DRAINING = "The server is shutting down; retry the request."


class DrainMiddleware:
    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self._drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if self._drain.draining and not path.startswith("/v1") and path not in OPS_PATHS:
            headers = [(b"retry-after", b"1"), (b"connection", b"close")]
            await send_v2_error(scope, send, 503, DRAINING, headers)
            return
        self._drain.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self._drain.leave()
